"""What a long command is doing, and for how long, on the terminal or in a CI log.

On a terminal: a spinner whose clock is read each time it is drawn, so it keeps ticking while
HiGHS works (HiGHS releases the GIL, and Rich draws from its own thread) even when no callback
arrives. Elsewhere (piped, CI): a plain line when the phase changes, and at least every
``every_s`` seconds while it lasts, so that a log shows the run is alive.
"""

from __future__ import annotations

import threading
import time

from rich.console import Console
from rich.text import Text

HINT_AFTER_S = 30.0
"""After this long with a plan in hand (a gap), the line adds the caller's hint (`plan`: that
Ctrl-C keeps the plan), since proving the last part of a gap can take far longer than finding it."""


class StatusLine:
    """``with StatusLine(console, "solving") as status: ... status.update(phase, gap)``; silent
    when ``quiet``. ``hint``: said once a gap is known and HINT_AFTER_S have passed."""

    def __init__(self, console: Console, phase: str = "starting", quiet: bool = False, every_s: float = 10.0,
                 hint: str | None = None):
        self.console, self.quiet, self.every_s, self.hint = console, quiet, every_s, hint
        self.phase, self.gap, self.started = phase, None, time.perf_counter()
        self._live = None
        self._stop = threading.Event()

    def __rich__(self) -> Text:
        return Text(self.text())

    def text(self) -> str:
        elapsed = time.perf_counter() - self.started
        hint = f" · {self.hint}" if self.hint and self.gap is not None and elapsed >= HINT_AFTER_S else ""
        return f"{self.phase} · {elapsed:,.1f} s" + (f" · gap {self.gap:.3%}" if self.gap is not None else "") + hint

    def update(self, phase: str, gap: float | None = None) -> None:
        changed = phase != self.phase
        self.phase, self.gap = phase, gap
        if changed and self._live is None and not self.quiet:
            self._line()

    def __enter__(self) -> StatusLine:
        if self.quiet:
            return self
        if self.console.is_terminal:
            self._live = self.console.status(self, spinner="dots")
            self._live.start()
        else:
            self._line()
            threading.Thread(target=self._heartbeat, name="status-line", daemon=True).start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        if self._live is not None:
            self._live.stop()
            self._live = None

    def _heartbeat(self) -> None:
        while not self._stop.wait(self.every_s):
            self._line()

    def _line(self) -> None:
        self.console.print(f"[{self.text()}]", highlight=False, markup=False)
