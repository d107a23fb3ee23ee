"""WSGI entry point for uWSGI / mod_wsgi: ``cloudkitty.wsgi.api:application``."""

from __future__ import annotations

import os
import threading
from typing import Any

from cloudkitty import service
from cloudkitty.api import app

_LOCK = threading.Lock()
_APPLICATION: Any = None


def init_application() -> Any:
    """Build the application once per process (config from the usual places)."""
    global _APPLICATION
    with _LOCK:
        if _APPLICATION is None:
            files = os.environ.get("CLOUDKITTY_CONFIG_FILES")
            conf = service.prepare_service(
                [], default_config_files=files.split(",") if files else None
            )
            _APPLICATION = app.load_app(conf)
        return _APPLICATION


def application(environ: dict[str, Any], start_response: Any) -> Any:
    return init_application()(environ, start_response)
