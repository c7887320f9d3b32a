"""Progress of a multi-chunk run: a bar on a terminal, plain log lines otherwise."""
import logging
import sys

logger = logging.getLogger(__name__)


class Progress:
    def __init__(self, stream=None, tty=None):
        self.stream = stream or sys.stderr
        self.tty = self.stream.isatty() if tty is None else tty

    def chunk_started(self, index, total, start, end):
        if self.tty:
            self._bar(index, total, "%s..%s" % (start, end))

    def chunk_done(self, index, total, start, end, ok):
        if self.tty:
            self._bar(index + 1, total, "%s..%s %s" % (start, end, "ok" if ok else "FAILED"))
            if index + 1 == total:
                self.stream.write("\n")
                self.stream.flush()
        else:
            logger.info("Chunk %d/%d %s..%s %s", index + 1, total, start, end, "done" if ok else "FAILED")

    def _bar(self, done, total, label):
        width = 30
        filled = int(width * done / max(total, 1))
        self.stream.write("\r[%s%s] %d/%d %s   " % ("#" * filled, "." * (width - filled), done, total, label))
        self.stream.flush()
