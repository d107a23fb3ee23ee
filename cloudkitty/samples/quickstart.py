"""The quickstart driver behind ``tools/quickstart``.

``catch-up`` rates every hour due in the foreground, in this process, with
the processor's own worker (same locks, same compare-and-set state advance,
so a processor running at the same time cannot double-rate anything) and a
progress bar, then prints the month's summary per project. ``serve`` runs
``cloudkitty-api`` and ``cloudkitty-processor`` until Ctrl-C and extends the
usage file every hour, so new hours keep being rated::

    python -m cloudkitty.samples.quickstart catch-up --workdir .quickstart
    python -m cloudkitty.samples.quickstart serve --workdir .quickstart
"""

from __future__ import annotations

import argparse
import dataclasses
import datetime
import io
import json
import os
import sys
from collections.abc import Sequence
from typing import Any, TextIO

import yaml
from oslo_config import cfg

from cloudkitty import exceptions, service
from cloudkitty.samples import cloud, progress, summary
from cloudkitty.utils import tz

CONFIG = "cloudkitty.conf"
SUMMARY_JSON = "summary.json"


@dataclasses.dataclass(frozen=True)
class CatchUp:
    periods: int
    points: int
    failed: int
    seconds: float
    #: end of the last hour rated for every project (None: nothing rated yet)
    rated_until: datetime.datetime | None


def load_conf(workdir: str, log_file: str | None = None) -> cfg.ConfigOpts:
    """The quickstart's configuration; logs go to ``log_file`` (the terminal
    belongs to the progress bar and the summary)."""
    args = ["--config-file", os.path.join(workdir, CONFIG)]
    if log_file:
        args += ["--log-file", log_file]
    return service.prepare_service(args)


def project_names() -> dict[str, str]:
    return {p.project_id: p.name for p in cloud.PROJECTS}


def columns(metrics_conf: str) -> list[summary.Column]:
    """The table's columns: the metrics of metrics.yml, in file order."""
    with open(metrics_conf, encoding="utf-8") as stream:
        document = yaml.safe_load(stream)
    result = []
    for name, entries in document["metrics"].items():
        for entry in entries if isinstance(entries, list) else [entries]:
            result.append(summary.Column(entry.get("alt_name", name), entry["unit"]))
    return result


# --- catch-up --------------------------------------------------------------------


def _due_count(deps: Any, scope_ids: Sequence[str], now: datetime.datetime) -> int:
    """Scope-periods due now: the progress bar's total."""
    period = datetime.timedelta(seconds=deps.period)
    total = 0
    for scope_id in scope_ids:
        state = deps.states.get_state(deps.scope_defaults.identity(scope_id))
        if state is None:
            start = tz.month_start(now)  # where the worker starts a new scope
        elif not state.active:
            continue
        else:
            start = state.last_processed_timestamp + period
        total += max(0, (now - start) // period - deps.wait_periods)
    return total


def rated_until(deps: Any, scope_ids: Sequence[str]) -> datetime.datetime | None:
    """The end of the last period rated for every scope."""
    ends = []
    for scope_id in scope_ids:
        state = deps.states.get_state(deps.scope_defaults.identity(scope_id))
        if state is None or state.last_processed_timestamp is None:
            return None
        ends.append(state.last_processed_timestamp + datetime.timedelta(seconds=deps.period))
    return min(ends) if ends else None


def catch_up(conf: cfg.ConfigOpts, out: TextIO) -> CatchUp:
    """Rate everything due with a progress bar; Ctrl-C stops cleanly (each
    scope-period is one transaction: the next run continues from there)."""
    from cloudkitty.orchestrator import service as orchestrator
    from cloudkitty.orchestrator import worker

    deps = orchestrator.build_deps(conf, 0)
    deps.locks.start()
    try:
        scope_ids = deps.fetcher.get_scopes()
        due = _due_count(deps, scope_ids, tz.utcnow())
        if not due:
            print("Nothing to rate: every hour that ended is rated already.", file=out)
        # Still sweep when nothing is due (an hour may end meanwhile), without a bar.
        bar_stream = out if due else io.StringIO()
        bar = progress.ProgressBar(due, label="Rating", unit="project-hours", stream=bar_stream)

        class ReportingWorker(worker.ProcessingWorker):
            """The processor's worker, reporting each batch to the bar."""

            def process_batch(self, batch: Any, pipeline: Any, result: Any) -> int:
                rated = super().process_batch(batch, pipeline, result)
                bar.update(result.periods_rated)
                return rated

        runner = ReportingWorker(deps)
        try:
            result = runner.sweep()
        except KeyboardInterrupt:
            runner.stop.set()
            bar.finish()
            raise
        seconds = bar.finish()
        return CatchUp(
            periods=result.periods_rated,
            points=result.points_rated,
            failed=result.scopes_failed,
            seconds=seconds,
            rated_until=rated_until(deps, scope_ids),
        )
    finally:
        deps.locks.stop()
        deps.collector.close()
        deps.fetcher.close()


def month_summary(conf: cfg.ConfigOpts, now: datetime.datetime) -> summary.Summary:
    """The API's default window: the current month."""
    from cloudkitty.db.engine import Database
    from cloudkitty.storage import base as storage_base

    storage = storage_base.get_storage(conf, Database.from_conf(conf))
    return summary.fetch(
        storage,
        begin=tz.month_start(now),
        end=tz.next_month(now),
        columns=columns(conf.collect.metrics_conf),
        names=project_names(),
        scope_key=conf.collect.scope_key,
    )


def run_catch_up(workdir: str, out: TextIO) -> int:
    log_file = os.path.join(workdir, "logs", "catch-up.log")
    os.makedirs(os.path.dirname(log_file), exist_ok=True)
    conf = load_conf(workdir, log_file)
    try:
        done = catch_up(conf, out)
    except KeyboardInterrupt:
        print("\nInterrupted: what was rated is kept; rerun tools/quickstart to go on.", file=out)
        return 130
    except exceptions.CloudkittyError as error:
        print(f"quickstart: cannot rate: {error} (see {log_file})", file=out)
        return 1
    failed = f"; {done.failed} failed, see {log_file}" if done.failed else ""
    if done.periods or done.failed:
        print(
            f"Rated {done.periods:,} project-hours ({done.points:,} points) "
            f"in {done.seconds:.1f} s{failed}",
            file=out,
        )
    now = tz.utcnow()
    result = month_summary(conf, now)
    until = done.rated_until
    print(file=out)
    print(
        f"This month, rated from {result.begin:%Y-%m-%d %H:%M} to "
        + (f"{until:%Y-%m-%d %H:%M} UTC" if until else "now (nothing yet)")
        + " (what `cloudkitty summary get` shows):",
        file=out,
    )
    print(file=out)
    print(summary.format_table(result), file=out)
    document = summary.to_json(result)
    document["rated_until"] = until.isoformat() if until else None
    with open(os.path.join(workdir, SUMMARY_JSON), "w", encoding="utf-8") as stream:
        json.dump(document, stream, indent=2)
        stream.write("\n")
    return 0


# --- command line ------------------------------------------------------------------


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m cloudkitty.samples.quickstart",
        description="Rate the sample month, print its summary, serve it.",
    )
    sub = parser.add_subparsers(dest="command", required=True)
    for name in ("catch-up", "serve"):
        command = sub.add_parser(name)
        command.add_argument(
            "--workdir", required=True, help="the quickstart's directory (config, data, logs)"
        )
        if name == "serve":
            command.add_argument("--seed", default="2026", help="seed of the sample cloud")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    workdir = os.path.abspath(args.workdir)
    if args.command == "catch-up":
        return run_catch_up(workdir, sys.stdout)
    from cloudkitty.samples import serve

    return serve.run(workdir, seed=args.seed, out=sys.stdout)


if __name__ == "__main__":
    sys.exit(main())
