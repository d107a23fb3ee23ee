"""The progress bar: in place on a terminal, by tenths elsewhere."""

from __future__ import annotations

import io

from cloudkitty.samples.progress import ProgressBar


class _Terminal(io.StringIO):
    encoding = "utf-8"

    def isatty(self):
        return True


def test_without_a_terminal_a_first_line_then_one_per_tenth():
    out = io.StringIO()
    bar = ProgressBar(20, label="Rating", unit="hours", stream=out)
    for done in range(1, 21):
        bar.update(done)
    bar.finish()
    lines = out.getvalue().splitlines()
    assert len(lines) == 11
    assert "5%  1/20 hours" in lines[0]
    assert lines[-1].startswith("Rating [################################] 100%  20/20 hours")


def test_on_a_terminal_the_line_is_redrawn():
    out = _Terminal()
    bar = ProgressBar(4, stream=out)
    bar.update(2)
    bar.finish()
    text = out.getvalue()
    assert text.count("\r") == 2 and text.endswith("\n")
    assert "█" * 16 + "·" * 16 in text


def test_work_found_on_the_way_grows_the_total():
    out = io.StringIO()
    bar = ProgressBar(2, stream=out)
    bar.update(3)
    assert bar.total == 3
    assert "100%" in bar.line()


def test_nothing_to_do():
    out = io.StringIO()
    ProgressBar(0, stream=out).finish()
    assert "100%  0/0" in out.getvalue()
