"""Options of the [collector_file] group: usage files exported by another
metering system, read by the ``file`` collector."""

from oslo_config import cfg

GROUP = "collector_file"

opts = [
    cfg.ListOpt(
        "paths",
        default=[],
        help="Usage files to read: paths or glob patterns (comma separated). "
        "Files are re-read when they change.",
    ),
    cfg.StrOpt(
        "format",
        default="auto",
        choices=[
            ("auto", "Guess from the file extension: .csv is CSV, anything else OpenMetrics."),
            ("openmetrics", "OpenMetrics text: name{labels} value timestamp (seconds)."),
            ("csv", "CSV with a header: timestamp, metric, value, then one column per label."),
        ],
        help="Format of the usage files.",
    ),
]
