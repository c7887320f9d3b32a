"""One sync cycle: read Tandem, compare with what Nightscout holds, write what is missing.

``sync_once`` is the only entry point; the CLI, the ``--auto-update`` loop and the web app all
call it. A window of pump-local days is processed in chunks Tandem serves reliably; a failing
chunk is retried day by day, and a day that still fails is reported (with its dates) without
stopping the chunks after it.
"""
import dataclasses
import datetime as dt
import logging
import math

from .. import nightscout as ns_module
from ..errors import (ConfigError, LoginError, LoginThrottled, NightscoutAuthError, NightscoutError, RateLimited,
                      Stopped, TconnectsyncError, WriteFailed)
from .. import timeutil
from . import engine_steps, iob, skips
from .backend import ChunkResult  # noqa: F401 - the backends' answer, also importable here
from .spanning import instant as _instant
from .report import ChunkFailure, FeatureCounts, Summary  # noqa: F401 - the engine's results, also importable here

logger = logging.getLogger(__name__)

FEATURE_ORDER = ("BASAL", "BOLUS", "IOB", "PUMP_EVENTS", "PROFILES", "CGM", "CGM_ALERTS")

FATAL = (LoginError, LoginThrottled, NightscoutAuthError, ConfigError, Stopped)
COMPARED_FIELDS = {"eventType", "created_at", "identifier", "enteredBy", "duration", "absolute", "rate",
                   "reason", "insulin", "carbs", "notes", "glucose", "units", "relative", "enteredinsulin",
                   "splitNow", "splitExt"}


@dataclasses.dataclass
class Clients:
    source: object          # a sync.backend.Backend (built by backends.py)
    nightscout: object      # a NightscoutClient


def split_window(start, end, days):
    return timeutil.split_days(start, end, days)


def _same(a, b):
    if isinstance(a, (int, float)) and isinstance(b, (int, float)) and not isinstance(a, bool):
        return math.isclose(float(a), float(b), rel_tol=1e-6, abs_tol=1e-6)
    return a == b


def equivalent(desired, stored):
    """True when ``stored`` (as Nightscout returns it) already says what ``desired`` says."""
    want = ns_module.normalize_for_compare(desired)
    have = ns_module.normalize_for_compare(stored)
    keys = set(want) | (set(have) & COMPARED_FIELDS)
    return all(_same(want.get(k), have.get(k)) for k in keys)


def plan_treatments(desired, existing):
    """Compare desired documents (feature, doc) with stored ones.

    Returns (posts, deletes, unchanged) where posts are (action, feature, doc) with action
    "create" or "update", deletes are (feature, stored doc) and unchanged are (feature, doc).
    """
    by_ident = {}
    by_key = {}
    for doc in existing:
        ident = doc.get("identifier")
        if ident:
            by_ident.setdefault(ident, []).append(doc)
        else:
            by_key.setdefault((_instant(doc), doc.get("eventType")), []).append(doc)
    posts, deletes, unchanged = [], [], []
    for feature, doc in desired:
        matches = by_ident.pop(doc["identifier"], [])
        key = (_instant(doc), doc["eventType"])
        legacy = by_key.pop(key, [])
        if not matches and not legacy:
            posts.append(("create", feature, doc))
            continue
        keep = None
        for m in matches:
            if keep is None and _instant(m) == key[0] and m.get("eventType") == doc["eventType"]:
                keep = m
            else:
                deletes.append((feature, m))
        # Documents an older tconnectsync wrote (no identifier) at the same instant and type are
        # this record too: replace them, so nothing is doubled on any Nightscout version.
        deletes.extend((feature, m) for m in legacy)
        if keep is not None and not legacy and equivalent(doc, keep):
            unchanged.append((feature, doc))
        else:
            posts.append(("update", feature, doc))
    return posts, deletes, unchanged


class Engine:
    def __init__(self, config, clients, features, pretend=False, progress=None, should_stop=None):
        self.should_stop = should_stop or (lambda: False)
        self.config = config
        self.tz = config.tz
        self.serial = config.pump_serial or getattr(clients.source, "serial", "")
        self.clients = clients
        self.features = tuple(f for f in FEATURE_ORDER if f in features)
        self.pretend = pretend
        self.progress = progress
        self.window_end = None

    def run(self, start, end):
        self.window_end = end
        summary = Summary(start=start, end=end, features=self.features, pretend=self.pretend)
        summary.counts = {f: FeatureCounts() for f in self.features}
        chunks = split_window(start, end, getattr(self.clients.source, "chunk_days", None) or self.config.chunk_days)
        summary.chunks = len(chunks)
        if self.progress and hasattr(self.progress, "window"):
            self.progress.window(start, end)
        newest_iob = None
        for index, (c_start, c_end) in enumerate(chunks):
            if self.should_stop():
                raise Stopped()
            # The newest IOB of the window: from every chunk when the backend reads it with the
            # chunk's events anyway (a last chunk in a long silence holds none), else the last's.
            want_iob = "IOB" in self.features and (index == len(chunks) - 1 or self._iob_free)
            if self.progress:
                self.progress.chunk_started(index, len(chunks), c_start, c_end)
            ok, value = self._chunk_with_retry(c_start, c_end, want_iob, summary)
            if want_iob and value is not None:
                newest_iob = _newer(newest_iob, value)
            if self.progress:
                self.progress.chunk_done(index, len(chunks), c_start, c_end, ok)
        if "IOB" in self.features and newest_iob is not None:
            try:
                self._sync_iob(newest_iob, summary)
            except FATAL:
                raise
            except TconnectsyncError as exc:
                summary.failures.append(ChunkFailure(end, end, "IOB: %s" % exc, self._remote(exc), exc))
        return summary

    def _chunk_with_retry(self, c_start, c_end, want_iob, summary):
        try:
            part = Summary(start=c_start, end=c_end, features=summary.features, pretend=summary.pretend,
                           done=set(summary.done))
            value = self._chunk(c_start, c_end, want_iob, part)
            summary.absorb(part)            # a chunk that failed counts nothing: its days are re-run
            return True, value
        except FATAL:
            raise
        except Exception as exc:  # noqa: BLE001 - one chunk must never stop the others
            reason = _reason(exc)
            limited = exc if isinstance(exc, RateLimited) else exc.__cause__
            if isinstance(limited, RateLimited) and limited.retry_after:
                summary.retry_after = max(summary.retry_after or 0, limited.retry_after)
            if c_start == c_end or isinstance(exc, WriteFailed):
                # Day by day helps with Tandem's large-window failures, not with Nightscout's.
                logger.error("Syncing %s failed: %s", c_start, reason)
                summary.failures.append(ChunkFailure(c_start, c_end, reason, self._remote(exc),
                                                     exc.__cause__ if isinstance(exc, WriteFailed) else exc))
                return False, None
            logger.warning("Syncing %s..%s failed (%s); trying day by day", c_start, c_end, reason)
        ok_all, value = True, None
        day = c_start
        while day <= c_end:
            ok, v = self._chunk_with_retry(day, day, want_iob and (day == c_end or self._iob_free), summary)
            ok_all = ok_all and ok
            value = _newer(value, v)
            day += dt.timedelta(days=1)
        return ok_all, value

    @property
    def _iob_free(self):
        return bool(getattr(self.clients.source, "iob_with_every_chunk", False))

    def _remote(self, exc):
        if isinstance(exc, WriteFailed) or isinstance(exc, NightscoutError) or \
                isinstance(getattr(exc, "__cause__", None), NightscoutError):
            return "Nightscout"
        return getattr(self.clients.source, "remote", "") or ""

    def _chunk(self, c_start, c_end, want_iob, summary):
        result = self.clients.source.chunk(c_start, c_end, self.features, want_iob=want_iob,
                                           window_end=self.window_end)
        for feature, n in result.fetched.items():
            if feature in self.features:
                summary.feature(feature).fetched += n
        for feature, n in result.merged.items():
            if feature in self.features:
                summary.feature(feature).merged += n
        for feature, warnings in result.warnings_by_feature.items():
            if feature in self.features:
                # Records of this feature that could not be read: read (fetched), not uploaded.
                summary.feature(feature).fetched += len(warnings)
                summary.feature(feature).skip(skips.UNREADABLE, len(warnings))
        summary.warnings = result.all_warnings()
        summary.add_ignored(result.ignored)
        try:
            self.apply_treatments(result.treatments, summary)
        except FATAL:
            raise
        except TconnectsyncError as exc:
            raise WriteFailed(str(exc)) from exc
        if result.spanning:
            engine_steps.spanning(self, result.spanning, summary)
        if result.entries:
            engine_steps.entries(self, result.entries, summary)
        if result.profiles is not None:
            engine_steps.profiles(self, result.profiles, summary)
        # Counted last: the spanning records merged with Nightscout may add skips.
        for feature, reasons in result.skipped.items():
            if feature in self.features:
                for r in reasons:
                    summary.skip(feature, r)
        return result.iob if want_iob else None

    def apply_treatments(self, desired, summary, uncounted=()):
        """Compare ``desired`` (feature, doc) with Nightscout and write the difference.

        Each desired document is one record's outcome (created, updated or unchanged), except
        those whose identifier is in ``uncounted`` (further documents a record also changed).
        """
        if not desired:
            return
        instants = [_instant(d) for _, d in desired]
        lo = min(instants) - dt.timedelta(seconds=1)
        hi = max(instants) + dt.timedelta(seconds=1)
        ns = self.clients.nightscout
        existing = ns.treatments(lo, hi)
        posts, deletes, unchanged = plan_treatments(desired, existing)
        for feature, doc in unchanged:
            if doc["identifier"] not in uncounted:
                summary.feature(feature).unchanged += 1
        if self.should_stop():
            raise Stopped()
        if self.pretend:
            summary.plan += [(action, feature, doc) for action, feature, doc in posts]
            summary.plan += [("delete", feature, doc) for feature, doc in deletes]
        else:
            for feature, doc in deletes:
                ns.delete_treatment(doc["_id"])
            if posts:
                ns.upload_treatments([doc for _, _, doc in posts])
        for feature, _ in deletes:
            summary.feature(feature).deleted += 1
        for action, feature, doc in posts:
            if doc["identifier"] in uncounted:
                continue
            if action == "create":
                summary.feature(feature).created += 1
            else:
                summary.feature(feature).updated += 1

    def _sync_iob(self, value, summary):
        counts = summary.counts["IOB"]
        counts.fetched += 1
        ns = self.clients.nightscout
        doc = iob.document(value, self.serial)
        stored = ns.activities(iob.ACTIVITY_TYPE)
        # Converge to exactly one current IOB document: keep the newest (ours, or a stored one at
        # least as new), then delete every other tconnectsync IOB document, also those a run
        # killed between its write and its delete left behind.
        newer = [s for s in stored if _instant(s) is not None and _instant(s) >= value.time]
        same = [s for s in stored if s.get("identifier") == doc["identifier"]]
        if newer or same:
            keep = max(newer, key=_instant) if newer else same[0]
            counts.unchanged += 1
        else:
            keep = None
            if self.pretend:
                summary.plan.append(("create", "IOB", doc))
            else:
                ns.upload_activities([doc])
            counts.created += 1
        dated = [s for s in stored if _instant(s) is not None]
        replaced = max(dated, key=_instant) if keep is None and dated else None    # the usual replacement
        for s in stored:
            if s is keep or not s.get("_id"):
                continue
            if self.pretend:
                summary.plan.append(("delete", "IOB", s))
            else:
                ns.delete_activity(s["_id"])
            if s is not replaced:
                counts.deleted += 1             # a leftover: counted as a duplicate removed


def _reason(exc):
    if isinstance(exc, TconnectsyncError):
        return str(exc)
    # Not one of ours: a bug, or a failure no layer below turned into words. The traceback (with
    # the exception's type) is in the -v log; the summary says what to do in words.
    logger.debug("Unexpected error", exc_info=True)
    detail = str(exc).strip() or "no details"
    return "an unexpected problem in tconnectsync (%s); run again with -v and report it with that log" % detail


def sync_once(config, clients, window, features, pretend=False, progress=None, should_stop=None):
    """Sync pump-local days ``window`` = (start, end), inclusive. Returns a ``Summary``.

    ``should_stop`` (a callable) is asked before each chunk and before each write; when it says
    yes the run raises ``Stopped`` there, so a stop never leaves half a batch behind.
    """
    start, end = window
    if end < start:
        raise ConfigError("The end date %s is before the start date %s." % (end, start))
    return Engine(config, clients, features, pretend, progress, should_stop).run(start, end)


def _newer(a, b):
    """The newer of two IobValues (either may be None)."""
    if a is None or (b is not None and b.time > a.time):
        return b
    return a
