"""A dependency-free progress bar: redrawn in place on a terminal, a line
every tenth of the way otherwise (logs and CI stay readable)."""

from __future__ import annotations

import sys
import time
from typing import TextIO


class ProgressBar:
    """``update(done)`` as work completes; ``finish()`` once at the end."""

    def __init__(
        self, total: int, *, label: str = "", unit: str = "", stream: TextIO | None = None
    ) -> None:
        self.total = max(total, 0)
        self.label = label
        self.unit = unit
        self.stream = stream or sys.stdout
        self.done = 0
        self.width = 32
        self._began = time.monotonic()
        self._drawn_at = 0.0
        self._tty = bool(getattr(self.stream, "isatty", lambda: False)())
        encoding = (getattr(self.stream, "encoding", None) or "").lower()
        self._fill, self._empty = ("█", "·") if encoding.startswith("utf") else ("#", "-")
        self._tenths_shown = -1

    def update(self, done: int) -> None:
        self.done = done
        # More work may appear while rating (a new hour begins): grow, never overflow.
        self.total = max(self.total, done)
        if self._tty:
            now = time.monotonic()
            if now - self._drawn_at >= 0.1:
                self._drawn_at = now
                self.stream.write("\r" + self.line())
                self.stream.flush()
        else:
            tenths = self.done * 10 // self.total if self.total else 10
            if tenths > self._tenths_shown:
                self._tenths_shown = tenths
                self.stream.write(self.line() + "\n")
                self.stream.flush()

    def line(self) -> str:
        ratio = self.done / self.total if self.total else 1.0
        filled = round(self.width * ratio)
        bar = self._fill * filled + self._empty * (self.width - filled)
        elapsed = time.monotonic() - self._began
        unit = f" {self.unit}" if self.unit else ""
        count = f"{self.done:,}/{self.total:,}{unit}"
        return f"{self.label} [{bar}] {ratio:4.0%}  {count}  {elapsed:.1f} s"

    def finish(self) -> float:
        """Draw the final state; returns the seconds elapsed."""
        if self._tty:
            self.stream.write("\r" + self.line() + "\n")
        elif self._tenths_shown < 10:
            self.stream.write(self.line() + "\n")
        self.stream.flush()
        return time.monotonic() - self._began
