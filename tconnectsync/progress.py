"""Progress of a multi-chunk run: a bar on a terminal, plain log lines otherwise.

On a terminal the bar is tqdm's: days done out of the window, elapsed time and the time left,
redrawn at the terminal's current width (``dynamic_ncols``: a narrow or resized terminal gets
a shorter bar, never a wrapped one that leaves stale lines), and removed when the run ends
(the summary says the rest). Log lines go through ``logs.TerminalHandler``, which writes them
with ``tqdm.write`` above the bar. Elsewhere (a pipe, a file, cron) each chunk is one log line.
"""
import logging
import sys

logger = logging.getLogger(__name__)

# Short enough that 40 columns still show the counts, the elapsed time and the time left.
BAR_FORMAT = "{percentage:3.0f}%%|{bar}| {n_fmt}/{total_fmt} %s [{elapsed}<{remaining}]"


class Progress:
    def __init__(self, stream=None, tty=None, enabled=True):
        self.stream = stream or sys.stderr
        if tty is None:
            try:
                tty = self.stream.isatty()
            except (AttributeError, ValueError):
                tty = False
        self.tty = tty
        self.enabled = enabled
        self.bar = None
        self._days = {}

    def _open(self, total, unit):
        from tqdm import tqdm
        self.bar = tqdm(total=total, file=self.stream, dynamic_ncols=True, leave=False, bar_format=BAR_FORMAT % unit,
                        mininterval=0.2, smoothing=0.3)

    def window(self, start, end):
        """Called once before the first chunk: the days the run will cover (for the bar)."""
        self._days["total"] = (end - start).days + 1

    def chunk_started(self, index, total, start, end):
        if not (self.enabled and self.tty):
            return
        if self.bar is None:
            if "total" not in self._days:
                self._days["unit"] = "chunks"
            self._open(self._days.get("total") or total, self._days.get("unit", "days"))

    def chunk_done(self, index, total, start, end, ok):
        if not self.enabled:
            return
        if self.tty:
            if self.bar is None:
                return
            self.bar.update(1 if self._days.get("unit") == "chunks" else (end - start).days + 1)
            if index + 1 == total:
                self.close()
        else:
            logger.info("Chunk %d/%d %s..%s %s", index + 1, total, start, end, "done" if ok else "FAILED")

    def close(self):
        if self.bar is not None:
            self.bar.close()
            self.bar = None
