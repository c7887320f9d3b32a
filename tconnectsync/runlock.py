"""The run lock: one sync at a time per Tandem account and Nightscout site.

A lock file in the state folder (``config.state_dir``), named by a hash of the Tandem e-mail
address and the Nightscout URL (never a secret), mode 0600, held with ``fcntl.flock``: the kernel
releases it when the process ends, however it ends, so a killed run never leaves a stale lock.
A one-shot run waits up to ``TCONNECTSYNC_LOCK_WAIT`` seconds (default 60) for a run already
going, then stops with ``RunLocked`` (exit code 7). The daemon takes it for each cycle only, so a
one-shot run (a backfill) can slip in between two cycles.

Where ``fcntl`` does not exist (Windows) the lock is a no-op with a debug line; Nightscout's
upserts keep overlapping runs from duplicating treatments there too.
"""
import contextlib
import hashlib
import logging
import os
import time

from .errors import RunLocked

try:
    import fcntl
except ImportError:  # pragma: no cover - not on POSIX
    fcntl = None

logger = logging.getLogger(__name__)

POLL_S = 0.2


def lock_name(email, ns_url):
    """``run-<16 hex>.lock``: the same for every run of one account and Nightscout site."""
    key = "%s\n%s" % ((email or "").strip().lower(), (ns_url or "").strip().rstrip("/").lower())
    return "run-%s.lock" % hashlib.sha256(key.encode("utf-8")).hexdigest()[:16]


def lock_path(config):
    """The lock file for ``config``, or None when there is no state folder."""
    if not getattr(config, "state_dir", ""):
        return None
    return os.path.join(config.state_dir, lock_name(config.email, config.ns_url))


@contextlib.contextmanager
def run_lock(config, wait_s=None, clock=time.monotonic, sleep=time.sleep):
    """Hold the run lock for ``config`` for the ``with`` block, waiting up to ``wait_s`` seconds
    (default ``config.lock_wait``) for another run to finish; ``RunLocked`` after that."""
    path = lock_path(config)
    if path is None or fcntl is None:
        yield None
        return
    wait_s = config.lock_wait if wait_s is None else wait_s
    os.makedirs(os.path.dirname(path), mode=0o700, exist_ok=True)
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        os.fchmod(fd, 0o600)
        deadline = clock() + wait_s
        announced = False
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if clock() >= deadline:
                    raise RunLocked(
                        "another tconnectsync run for this Tandem account and Nightscout site is still going "
                        "after %d second%s (lock file %s); this run stopped without syncing: let that one "
                        "finish, or raise TCONNECTSYNC_LOCK_WAIT." % (wait_s, "" if wait_s == 1 else "s", path)) \
                        from None
                if not announced:
                    logger.info("Another tconnectsync run for this account is going; waiting up to %d s for it",
                                wait_s)
                    announced = True
                sleep(min(POLL_S, max(0.0, deadline - clock())))
        try:
            os.ftruncate(fd, 0)
            os.write(fd, b"%d\n" % os.getpid())     # who holds it, for a person looking
        except OSError:
            pass
        yield path
    finally:
        os.close(fd)                                # closing the descriptor releases the lock
