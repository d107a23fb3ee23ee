"""Options of the [DEFAULT] group that cloudkitty itself owns."""

import socket

from oslo_config import cfg

GROUP = None

opts = [
    cfg.StrOpt(
        "auth_strategy",
        default="keystone",
        choices=[
            ("keystone", "Validate tokens with keystonemiddleware."),
            ("noauth", "No authentication; every caller is an admin."),
        ],
        help="The authentication strategy of the API.",
    ),
    cfg.StrOpt(
        "api_paste_config",
        default="api_paste.ini",
        help="The paste configuration file of the API (searched in the config dirs).",
    ),
    cfg.StrOpt(
        "host",
        default=socket.getfqdn(),
        sample_default="<server-hostname.example.com>",
        help="Name of this node, used as RPC server name.",
    ),
]
