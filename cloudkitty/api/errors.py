"""Domain errors mapped to HTTP once, for both API versions.

v1 answers WSME faults ``{"faultcode", "faultstring", "debuginfo"}``; v2
answers ``{"message"}``. Unexpected exceptions are logged with their traceback
and answered as a generic 500: internal details (SQL, paths) never leak.
"""

from __future__ import annotations

import functools
import inspect
import json
from collections.abc import Callable
from typing import Any

import pecan
import webob.exc
import wsme.exc
from oslo_log import log
from wsmeext.pecan import wsexpose

from cloudkitty import exceptions

LOG = log.getLogger(__name__)

INTERNAL_ERROR = "Internal Server Error"

STATUS_BY_CATEGORY: tuple[tuple[type[Exception], int], ...] = (
    (exceptions.NotFound, 404),
    (exceptions.Conflict, 409),
    (exceptions.NotConfigurable, 409),
    (exceptions.InvalidInput, 400),
    (exceptions.Forbidden, 403),
    (exceptions.ConfigError, 500),
    (exceptions.BackendError, 503),
)


def status_of(error: BaseException) -> int:
    for category, status in STATUS_BY_CATEGORY:
        if isinstance(error, category):
            return status
    return 500


class _Fault(wsme.exc.ClientSideError):
    """A WSME client fault carrying its status (WSME reads ``code``)."""

    def __init__(self, message: str, status: int) -> None:
        super().__init__(message, status_code=status)


class _ServerFault(Exception):
    """A 5xx WSME fault: faultcode Server, message without internals."""

    def __init__(self, message: str, status: int) -> None:
        super().__init__(message)
        self.code = status


def _translate(error: Exception) -> Exception:
    status = status_of(error)
    if status == 500 and not isinstance(error, exceptions.CloudkittyError):
        LOG.exception(
            "Unexpected error while serving %s %s", pecan.request.method, pecan.request.path
        )
        return _ServerFault(INTERNAL_ERROR, 500)
    if status >= 500:
        LOG.error("Error while serving %s %s: %s", pecan.request.method, pecan.request.path, error)
        return _ServerFault(str(error), status)
    return _Fault(str(error), status)


def v1_expose(*signature: Any, **options: Any) -> Callable[[Callable[..., Any]], Any]:
    """``wsexpose`` plus the mapping of domain errors to WSME faults."""

    def decorate(func: Callable[..., Any]) -> Any:
        @functools.wraps(func)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            try:
                return func(*args, **kwargs)
            except (wsme.exc.ClientSideError, webob.exc.HTTPException, _Fault, _ServerFault):
                raise
            except Exception as error:
                raise _translate(error) from error

        # WSME reads the argument spec from the original; Pecan from __signature__.
        wrapper._wsme_original_func = func  # type: ignore[attr-defined]
        wrapper.__signature__ = inspect.signature(func)  # type: ignore[attr-defined]
        exposed = wsexpose(*signature, **options)(wrapper)
        # functools.wraps copied that __signature__ onto WSME's own
        # (self, *args, **kwargs) entry point too; a RestController reading it
        # counts defaulted query parameters as path segments and 404s.
        exposed.__dict__.pop("__signature__", None)
        return exposed

    return decorate


def v2_error_body(status: int, message: str) -> webob.Response:
    response = webob.Response(status=status, content_type="application/json", charset="UTF-8")
    response.text = json.dumps({"message": message})
    return response


def v2_expose(**options: Any) -> Callable[[Callable[..., Any]], Any]:
    """``pecan.expose('json')`` plus the mapping of domain errors to ``{"message"}``."""

    def decorate(func: Callable[..., Any]) -> Any:
        @functools.wraps(func)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            try:
                return func(*args, **kwargs)
            except webob.exc.HTTPException:
                raise
            except Exception as error:
                status = status_of(error)
                if status == 500 and not isinstance(error, exceptions.CloudkittyError):
                    LOG.exception(
                        "Unexpected error while serving %s %s",
                        pecan.request.method,
                        pecan.request.path,
                    )
                    return v2_error_body(500, INTERNAL_ERROR)
                if isinstance(error, exceptions.Forbidden):
                    return v2_error_body(403, "You are not authorized to perform this action")
                return v2_error_body(status, str(error))

        wrapper.__signature__ = inspect.signature(func)  # type: ignore[attr-defined]
        return pecan.expose("json", **options)(wrapper)

    return decorate
