"""keystonemiddleware's auth_token, letting version discovery through."""

from __future__ import annotations

from typing import Any

from keystonemiddleware import auth_token

#: Version discovery and the OpenAPI document need no token.
PUBLIC_ROUTES = frozenset({"/", "/v1", "/v2", "/openapi.yaml", "/openapi.json"})


class AuthTokenMiddleware(auth_token.AuthProtocol):
    """Validates tokens except on the public discovery routes."""

    def process_request(self, request: Any) -> Any:
        path = request.path.rstrip("/") or "/"
        if path in PUBLIC_ROUTES:
            # Identity headers a client may have forged must not survive.
            request.remove_auth_headers()
            return None
        return super().process_request(request)


def filter_factory(global_conf: dict[str, Any], **local_conf: Any) -> Any:
    from cloudkitty.api import app

    conf = dict(local_conf)
    # keystonemiddleware reads [keystone_authtoken] from this ConfigOpts.
    conf["oslo_config_config"] = app.conf_from(global_conf)

    def _filter(app: Any) -> AuthTokenMiddleware:
        return AuthTokenMiddleware(app, conf)

    return _filter
