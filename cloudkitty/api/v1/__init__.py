"""The v1 API (Pecan + WSME). Importing it installs the WSME adaptations."""

from cloudkitty.api.v1 import wsme_compat  # noqa: F401
