"""Sphinx configuration of the cloudkitty documentation.

Plain Sphinx with the default theme. The configuration and policy
references are generated from the code (oslo.config and oslo.policy
extensions), the plugin base classes are documented from their docstrings,
and the API page includes the OpenAPI document when it exists.
"""

from __future__ import annotations

import os

from docutils import nodes
from docutils.parsers.rst import Directive
from sphinx.application import Sphinx

HERE = os.path.dirname(os.path.abspath(__file__))
OPENAPI = os.path.join(HERE, "api", "openapi.yaml")

project = "cloudkitty"
author = "cloudkitty developers"
copyright = "cloudkitty developers"

extensions = [
    "sphinx.ext.autodoc",
    "oslo_config.sphinxext",
    "oslo_policy.sphinxext",
]

root_doc = "index"
exclude_patterns = ["_build"]
html_theme = "alabaster"
html_title = "cloudkitty documentation"
html_static_path: list[str] = []
# The OpenAPI document is published next to the pages when it exists.
html_extra_path = ["api/openapi.yaml"] if os.path.exists(OPENAPI) else []

autodoc_member_order = "bysource"
autodoc_typehints = "signature"


class OpenAPIDocument(Directive):
    """``.. openapi-document::`` includes api/openapi.yaml when present.

    The API reference is written by hand as OpenAPI; until that file exists
    the page says so instead of failing the build.
    """

    has_content = False

    def run(self) -> list[nodes.Node]:
        env = self.state.document.settings.env
        if not os.path.exists(OPENAPI):
            text = (
                "The OpenAPI document (doc/source/api/openapi.yaml) is not part of this build yet."
            )
            return [nodes.paragraph(text, text)]
        env.note_dependency(OPENAPI)
        with open(OPENAPI, encoding="utf-8") as stream:
            source = stream.read()
        intro = nodes.paragraph()
        intro += nodes.Text("Download: ")
        intro += nodes.reference("openapi.yaml", "openapi.yaml", refuri="openapi.yaml")
        block = nodes.literal_block(source, source)
        block["language"] = "yaml"
        return [intro, block]


def setup(app: Sphinx) -> dict[str, object]:
    app.add_directive("openapi-document", OpenAPIDocument)
    return {"parallel_read_safe": True}
