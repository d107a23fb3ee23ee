"""Sphinx configuration of the release notes (built by reno from
releasenotes/notes and the git history)."""

project = "cloudkitty release notes"
author = "cloudkitty developers"
copyright = "cloudkitty developers"

extensions = ["reno.sphinxext"]
root_doc = "index"
exclude_patterns = ["_build"]
html_theme = "alabaster"
html_static_path: list[str] = []
