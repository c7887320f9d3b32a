"""Logging set-up: one format, a filter that blanks secrets from every record, and warnings
about the same thing logged once per process (``warn_once``)."""
import collections
import hashlib
import logging
import os
import re
import sys
import textwrap
import threading

FORMAT = "%(asctime)s %(levelname)-7s %(message)s"
DATEFMT = "%Y-%m-%d %H:%M:%S"


# A query value whose name says it is a secret (secret, token, api_secret, access_token, ...): a
# monitor's ``/run?secret=...`` must not reach a log line we write, whoever's the secret is.
QUERY_SECRET = re.compile(r"([?&;][\w.-]*(?:secret|token)[\w.-]*=)[^&;\s#\"'<>]*", re.IGNORECASE)


def redact_query(text):
    """``text`` with the value of every query parameter named like a secret replaced by ``***``."""
    return QUERY_SECRET.sub(r"\1***", text) if "=" in text else text


class RedactingFilter(logging.Filter):
    """Replaces each secret (and its SHA-1 hex, as sent to Nightscout) with ``***``."""

    def __init__(self, secrets=()):
        super().__init__()
        self.secrets = []
        self.set_secrets(secrets)

    def set_secrets(self, secrets):
        values = []
        for s in secrets:
            if s and len(s) >= 3:
                values.append(s)
                values.append(hashlib.sha1(s.encode("utf-8")).hexdigest())
        self.secrets = sorted(set(values), key=len, reverse=True)

    def redact(self, text):
        for s in self.secrets:
            text = text.replace(s, "***")
        return redact_query(text)

    def filter(self, record):
        if self.secrets or "=" in str(record.msg) or any("=" in str(a) for a in _args(record)):
            try:
                message = record.getMessage()
            except Exception:  # noqa: BLE001
                message = str(record.msg)
            record.msg = self.redact(message)
            record.args = None
            if record.exc_info and not record.exc_text:
                record.exc_text = self.redact(logging.Formatter().formatException(record.exc_info))
            elif record.exc_text:
                record.exc_text = self.redact(record.exc_text)
        return True


def _args(record):
    args = record.args
    if isinstance(args, dict):
        return list(args.values())
    return list(args or ())


_filter = RedactingFilter()


def _is_tty(stream):
    try:
        return stream.isatty()
    except (AttributeError, ValueError):
        return False


def _columns(stream):
    try:
        return os.get_terminal_size(stream.fileno()).columns
    except (AttributeError, ValueError, OSError):
        return 0


class TerminalHandler(logging.StreamHandler):
    """Log lines on a terminal: written through tqdm's ``write`` (it lifts a progress bar out of
    the way and redraws it below, so the two never share a line), wrapped at the terminal's
    current width so a narrow terminal shows each line whole, indented after its first line.
    On anything else (a pipe, a file, cron): plain lines, as a StreamHandler writes them."""

    def __init__(self, stream=None):
        super().__init__(stream or sys.stderr)
        self.tty = _is_tty(self.stream)

    def emit(self, record):
        if not self.tty:
            return super().emit(record)
        try:
            text = self.format(record)
            width = _columns(self.stream)
            if width >= 20:
                text = "\n".join(textwrap.fill(line, width - 1, subsequent_indent="    ", break_on_hyphens=False,
                                                drop_whitespace=True) or line for line in text.splitlines())
            from tqdm import tqdm
            tqdm.write(text, file=self.stream)
            self.flush()
        except RecursionError:      # as logging.StreamHandler
            raise
        except Exception:  # noqa: BLE001
            self.handleError(record)


def setup(verbose=False, stream=None, quiet=False):
    """Log to ``stream`` (stderr): INFO and up; DEBUG with ``verbose``; only WARNING and up
    with ``quiet`` (cron: a run that went well prints nothing)."""
    root = logging.getLogger()
    for handler in list(root.handlers):
        if getattr(handler, "_tconnectsync", False):
            root.removeHandler(handler)
    handler = TerminalHandler(stream or sys.stderr)
    handler._tconnectsync = True
    handler.setFormatter(logging.Formatter(FORMAT, DATEFMT))
    handler.addFilter(_filter)
    root.addHandler(handler)
    root.setLevel(logging.DEBUG if verbose else logging.WARNING if quiet else logging.INFO)
    # urllib3's own debug lines carry full URLs; ours say enough.
    logging.getLogger("urllib3").setLevel(logging.INFO if verbose else logging.WARNING)
    return handler


def set_level(level):
    logging.getLogger().setLevel(level)


def protect(secrets):
    """Register secrets to blank from all log output from now on."""
    _filter.set_secrets(list(secrets))


def redact(text):
    return _filter.redact(text)


class _Seen:
    """Keys already warned about in this process; bounded (the oldest are forgotten first), so a
    daemon that runs for months keeps a fixed amount of memory."""

    def __init__(self, limit=10000):
        self.limit = limit
        self.keys = collections.OrderedDict()
        self.lock = threading.Lock()

    def first(self, key):
        with self.lock:
            if key in self.keys:
                self.keys.move_to_end(key)
                return False
            self.keys[key] = True
            if len(self.keys) > self.limit:
                self.keys.popitem(last=False)
            return True

    def clear(self):
        with self.lock:
            self.keys.clear()


_seen = _Seen()


def warn_once(log, text, key=None):
    """Log ``text`` on ``log`` at WARNING the first time this process meets ``key`` (default: the
    text), at DEBUG after that. For warnings about historical records (an old clock change, a bad
    event) that every daemon cycle reads again: the run's summary still counts each one. True
    when it was logged as a warning."""
    if _seen.first(text if key is None else key):
        log.warning("%s", text)
        return True
    log.debug("%s (warned about before in this process)", text)
    return False


def forget_warnings():
    """Warn again about everything (tests: each stands for a new process)."""
    _seen.clear()
