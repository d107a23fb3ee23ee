"""``/openapi.yaml`` and ``/openapi.json``: the OpenAPI 3 document of this API.

The document is the hand-written ``openapi.yaml`` beside this module (the
only copy; ``doc/source/api/openapi.yaml`` links to it). It is public like
``/``: it describes routes, never data.
"""

from __future__ import annotations

import functools
import json
import os
from typing import Any

import pecan
import webob
import yaml
from pecan import rest

PATH = os.path.join(os.path.dirname(os.path.abspath(__file__)), "openapi.yaml")
YAML_TYPE = "application/yaml"


@functools.cache
def document_text() -> str:
    with open(PATH, encoding="utf-8") as stream:
        return stream.read()


@functools.cache
def document() -> dict[str, Any]:
    """The parsed document (a fresh copy is not needed: callers only read)."""
    parsed: dict[str, Any] = yaml.safe_load(document_text())
    return parsed


def _answer(text: str, content_type: str) -> webob.Response:
    response = webob.Response(status=200, content_type=content_type, charset="UTF-8")
    response.text = text
    return response


class YAMLController(rest.RestController):
    @pecan.expose()
    def get_all(self) -> webob.Response:
        return _answer(document_text(), YAML_TYPE)


class JSONController(rest.RestController):
    @pecan.expose()
    def get_all(self) -> webob.Response:
        return _answer(json.dumps(document()), "application/json")
