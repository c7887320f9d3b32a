"""Logging set-up: one format, and a filter that blanks secrets from every record."""
import hashlib
import logging
import sys

FORMAT = "%(asctime)s %(levelname)-7s %(message)s"
DATEFMT = "%Y-%m-%d %H:%M:%S"


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
        return text

    def filter(self, record):
        if self.secrets:
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


_filter = RedactingFilter()


def setup(verbose=False, stream=None):
    root = logging.getLogger()
    for handler in list(root.handlers):
        if getattr(handler, "_tconnectsync", False):
            root.removeHandler(handler)
    handler = logging.StreamHandler(stream or sys.stderr)
    handler._tconnectsync = True
    handler.setFormatter(logging.Formatter(FORMAT, DATEFMT))
    handler.addFilter(_filter)
    root.addHandler(handler)
    root.setLevel(logging.DEBUG if verbose else logging.INFO)
    # urllib3's own debug lines carry full URLs; ours say enough.
    logging.getLogger("urllib3").setLevel(logging.INFO if verbose else logging.WARNING)
    return handler


def protect(secrets):
    """Register secrets to blank from all log output from now on."""
    _filter.set_secrets(list(secrets))


def redact(text):
    return _filter.redact(text)
