"""v1 fault bodies for code paths outside WSME's own error handling."""

from __future__ import annotations

import json
from typing import Any

import pecan
import webob


def fault(status: int, message: str) -> webob.Response:
    body = {
        "faultcode": "Client" if status < 500 else "Server",
        "faultstring": message,
        "debuginfo": None,
    }
    response = webob.Response(status=status, content_type="application/json", charset="UTF-8")
    response.text = json.dumps(body)
    return response


class ErrorController:
    """Answers every method and sub-path with one fault (e.g. 409, 403)."""

    def __init__(self, status: int, message: str) -> None:
        self.status = status
        self.message = message

    @pecan.expose()
    def _default(self, *remainder: Any, **kwargs: Any) -> webob.Response:
        return fault(self.status, self.message)

    @pecan.expose()
    def index(self, *remainder: Any, **kwargs: Any) -> webob.Response:
        return fault(self.status, self.message)
