"""Error categories of the domain.

Lower layers raise these; the API maps each category to an HTTP status in one
place (``cloudkitty.api.errors``). Nothing here knows about HTTP.
"""


class CloudkittyError(Exception):
    """Base of every error this service raises on purpose."""

    def __init__(self, message: str = "") -> None:
        super().__init__(message)
        self.message = message

    def __str__(self) -> str:
        return self.message


class NotFound(CloudkittyError):
    """The thing asked for does not exist (HTTP 404)."""


class Conflict(CloudkittyError):
    """The change would duplicate or contradict existing state (HTTP 409)."""


class InvalidInput(CloudkittyError):
    """The caller sent something malformed or not allowed (HTTP 400)."""


class NotConfigurable(CloudkittyError):
    """A rating module without configuration API was addressed (HTTP 409)."""


class BackendError(CloudkittyError):
    """A backend (source, storage, sandbox) failed; retry may help (HTTP 500/503)."""


class ConfigError(CloudkittyError):
    """Invalid configuration detected at start-up; names the bad key."""


class ScriptError(BackendError):
    """A pyscripts rating script failed (raised, timed out, exceeded memory)."""

    def __init__(self, script_name: str, reason: str) -> None:
        super().__init__(f"pyscripts script '{script_name}' failed: {reason}")
        self.script_name = script_name
        self.reason = reason


class Forbidden(CloudkittyError):
    """Policy does not allow the caller to do this (HTTP 403)."""


class SourceError(BackendError):
    """A usage source (Prometheus, Gnocchi, Keystone, files) failed.

    The period being collected must be retried, not skipped. ``cause`` keeps
    the underlying exception (also chained as ``__cause__``).
    """

    def __init__(self, message: str, cause: BaseException | None = None) -> None:
        super().__init__(message)
        self.cause = cause
        if cause is not None:
            self.__cause__ = cause


class SourceUnreachable(SourceError):
    """The source could not be reached (connection refused, DNS, timeout,
    or an HTTP status of ``UNAVAILABLE_STATUSES``)."""


#: HTTP statuses of a source that is not there right now (starting, stopping,
#: behind a proxy whose backend is away): an outage, not a bad answer.
UNAVAILABLE_STATUSES = frozenset({502, 503, 504})


class BadSourceAnswer(SourceError):
    """The source answered, but with an error or something we cannot read."""
