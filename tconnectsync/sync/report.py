"""A run's outcome: what each feature read and what became of it (``Summary``), and how it is told.

``format_summary`` (people), ``summary_dict`` (``--json``) and ``exit_code_for`` live beside the
Summary so that the CLI, the demo and the web app all tell a run the same way without importing
each other.
"""
import dataclasses
import datetime as dt
import json
import logging
import textwrap

from .. import __version__, logs
from ..errors import TconnectsyncError, TransientError
from . import skips

logger = logging.getLogger(__name__)


@dataclasses.dataclass
class FeatureCounts:
    """What became of the records one feature read. Every record read lands in exactly one of
    created, updated, unchanged (already in Nightscout), merged (folded into the document of
    another record: a Sleep's stop, a suspension logged at the same second as its basal row) or
    skipped (with a reason key; ``unreadable`` for records that could not be read), so
    ``fetched == created + updated + unchanged + merged + skipped`` (see ``balanced``).
    ``deleted`` counts stored duplicates removed; it is not a record read."""
    fetched: int = 0
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    merged: int = 0
    skipped: int = 0
    deleted: int = 0
    reasons: dict = dataclasses.field(default_factory=dict)     # skip reason key -> count

    def skip(self, key, n=1):
        if not n:
            return
        self.skipped += n
        self.reasons[key] = self.reasons.get(key, 0) + n

    @property
    def unreadable(self):
        return self.reasons.get(skips.UNREADABLE, 0)

    @property
    def balanced(self):
        return self.fetched == self.created + self.updated + self.unchanged + self.merged + self.skipped

    def add(self, other):
        for f in ("fetched", "created", "updated", "unchanged", "merged", "deleted"):
            setattr(self, f, getattr(self, f) + getattr(other, f))
        for key, n in other.reasons.items():
            self.skip(key, n)

    def line(self, pretend=False):
        """"659 fetched: 654 created, 0 updated, 5 merged": created and updated always, the
        other parts when not 0; they add up to fetched."""
        parts = [(self.unchanged, "already there"), (self.merged, "merged"), (self.skipped, "skipped"),
                 (self.deleted, "duplicates to remove" if pretend else "duplicates removed")]
        shown = ["%d %s" % (self.created, "to create" if pretend else "created"),
                 "%d %s" % (self.updated, "to update" if pretend else "updated")]
        shown += ["%d %s" % (n, text) for n, text in parts if n]
        return "%d fetched: %s" % (self.fetched, ", ".join(shown))

    def as_dict(self):
        out = {f: getattr(self, f) for f in ("fetched", "created", "updated", "unchanged", "merged", "skipped",
                                              "deleted")}
        out["unreadable"] = self.unreadable
        out["skip_reasons"] = dict(sorted(self.reasons.items()))
        return out


@dataclasses.dataclass
class ChunkFailure:
    start: dt.date
    end: dt.date
    reason: str
    remote: str = ""              # who failed: "Nightscout", "Tandem Source", "t:connect" ("" unknown)
    error: object = dataclasses.field(default=None, repr=False, compare=False)   # the exception (its cause for a write)


@dataclasses.dataclass
class Summary:
    start: dt.date
    end: dt.date
    features: tuple
    pretend: bool = False
    counts: dict = dataclasses.field(default_factory=dict)
    warnings: list = dataclasses.field(default_factory=list)      # ParseWarning (first 100 kept)
    warning_count: int = 0
    failures: list = dataclasses.field(default_factory=list)      # ChunkFailure
    plan: list = dataclasses.field(default_factory=list)          # (action, feature, doc) with pretend
    chunks: int = 0
    retry_after: float = None     # the longest Retry-After a remote asked for (HTTP 429), if any
    done: set = dataclasses.field(default_factory=set)            # once-per-run steps already taken
    ignored: dict = dataclasses.field(default_factory=dict)       # event code -> events of kinds nobody decodes

    @property
    def ok(self):
        return not self.failures

    def add_warnings(self, warnings):
        """Count each warning (every run); log it at WARNING once per process (``logs.warn_once``):
        a daemon reads the same historical records every cycle."""
        for w in warnings:
            self.warning_count += 1
            if len(self.warnings) < 100:
                self.warnings.append(w)
            logs.warn_once(logger, str(w))

    def add_ignored(self, ignored):
        """Count events the parser ignored (codes without a definition): not warnings, not unreadable."""
        for code, n in (ignored or {}).items():
            self.ignored[code] = self.ignored.get(code, 0) + n

    @property
    def ignored_count(self):
        return sum(self.ignored.values())

    def ignored_dict(self):
        """{"57": 12, ...}: the ignored events per code, JSON-ready (status, ``--json``)."""
        return {str(code): n for code, n in sorted(self.ignored.items())}

    def feature(self, name):
        from_counts = self.counts.get(name)
        if from_counts is None:
            from_counts = self.counts[name] = FeatureCounts()
        return from_counts

    def skip(self, feature, reason):
        """Count one record of ``feature`` not uploaded, grouped by its reason's key."""
        self.feature(feature).skip(skips.key_of(reason))
        logger.debug("Not uploaded (%s): %s", feature, reason)

    def totals(self):
        return {k: v.as_dict() for k, v in self.counts.items()}

    def skip_reasons(self):
        """{reason key: count} over all features."""
        out = {}
        for c in self.counts.values():
            for key, n in c.reasons.items():
                out[key] = out.get(key, 0) + n
        return out

    def days(self):
        return (self.end - self.start).days + 1

    def failed_days(self):
        return {f.start + dt.timedelta(days=i) for f in self.failures for i in range((f.end - f.start).days + 1)}

    @property
    def nothing_synced(self):
        """True when every day of the window failed: nothing was read, nothing written."""
        return bool(self.failures) and len(self.failed_days() & set(
            self.start + dt.timedelta(days=i) for i in range(self.days()))) == self.days()

    def failed_remotes(self):
        return sorted({f.remote for f in self.failures if f.remote})

    def failed_ranges(self):
        """Failed days merged into ranges: the --start-date/--end-date to re-run."""
        days = sorted(self.failed_days())
        ranges = []
        for d in days:
            if ranges and (d - ranges[-1][1]).days == 1:
                ranges[-1][1] = d
            else:
                ranges.append([d, d])
        return [(a, b) for a, b in ranges]

    def absorb(self, part):
        """Add the outcome of one chunk (a scratch Summary) to this run's."""
        for name, counts in part.counts.items():
            self.feature(name).add(counts)
        self.plan += part.plan
        self.done |= part.done
        self.add_ignored(part.ignored)
        self.add_warnings(part.warnings)        # logged here: a chunk retried day by day logs them once


def exit_code_for(summary):
    """(code, sentence) for a finished one-shot run. 0 when everything synced; when nothing could
    be synced because every failure had the same kind of cause, that cause's code (4: a remote kept
    failing, 5: Tandem answered something unusable, 6: Nightscout refused); else 1 (some days failed)."""
    if summary.ok:
        return 0, None
    days = (summary.end - summary.start).days + 1
    failed = sum((b - a).days + 1 for a, b in summary.failed_ranges())
    ranges = ", ".join("%s..%s" % r if r[0] != r[1] else str(r[0]) for r in summary.failed_ranges())
    if failed >= days:
        errors = [f.error for f in summary.failures]
        codes = {getattr(e, "exit_code", 1) if isinstance(e, TconnectsyncError) else 1 for e in errors}
        if len(codes) == 1 and codes != {1}:
            code = codes.pop()
            if code == TransientError.exit_code:
                remotes = sorted({getattr(e, "remote", None) or "a remote" for e in errors})
                return code, ("nothing could be synced: %s kept failing for every day of %s..%s (%s); "
                              "try again later, it is not a problem with your settings."
                              % (" and ".join(remotes), summary.start, summary.end, _clause(summary.failures[-1].reason)))
            return code, ("nothing could be synced for %s..%s: %s"
                          % (summary.start, summary.end, summary.failures[-1].reason))
        return 1, "nothing could be synced for %s..%s; the reasons are listed above." % (summary.start, summary.end)
    return 1, "some days could not be synced (%s); re-run the dates listed above." % ranges


def _plural(n, word, words=None):
    return "%d %s" % (n, word if n == 1 else (words or word + "s"))


SUMMARY_WIDTH = 79         # the prose lines of a summary; 80-column terminals and mails


def unattributed_warnings(summary):
    """Warnings about records no feature claims (e.g. an event of an unknown type)."""
    return max(0, summary.warning_count - sum(c.unreadable for c in summary.counts.values()))


def format_summary(summary, tz_name, verbose=False):
    """The run's summary for people: what each feature read and what became of it."""
    lines = []
    window = "%s..%s (%s)" % (summary.start, summary.end, tz_name)
    if summary.nothing_synced:
        remotes = " and ".join(summary.failed_remotes()) or "Tandem"
        reasons = sorted({_clause(logs.redact(f.reason)) for f in summary.failures})
        lines.append("Nothing synced: %s did not answer for %s: %s." % (remotes, window, "; ".join(reasons)))
    else:
        head = "PRETEND (nothing written): plan for" if summary.pretend else "Synced"
        lines.append("%s %s, %s%s:" % (head, window, _plural(summary.chunks, "chunk"),
                                        "" if summary.ok else "; some days FAILED (below)"))
        digits = max([len(str(c.fetched)) for c in summary.counts.values()] or [1])
        for feature, counts in summary.counts.items():
            pad = " " * (digits - len(str(counts.fetched)))          # the numbers right-aligned
            lines.append("  %-13s %s%s" % (feature + ":", pad, counts.line(summary.pretend)))
        reasons = summary.skip_reasons()
        total = sum(reasons.values())
        if total:
            lines.append(textwrap.fill("  %d skipped: %s" % (total, skips.describe(reasons)), SUMMARY_WIDTH,
                                       subsequent_indent="    ", break_on_hyphens=False))
    other = unattributed_warnings(summary)
    if other:
        lines.append("  %s could not be read and %s skipped (warnings above)."
                     % (_plural(other, "record"), "was" if other == 1 else "were"))
    if verbose and summary.ignored:
        # Only with -v: every real day holds such events, and there is nothing to do about them.
        lines.append(textwrap.fill("  %s of kinds tconnectsync does not read %s ignored (event codes %s)."
                                   % (_plural(summary.ignored_count, "pump event"),
                                      "was" if summary.ignored_count == 1 else "were",
                                      ", ".join("%d: %d" % kv for kv in sorted(summary.ignored.items()))),
                                   SUMMARY_WIDTH, subsequent_indent="    ", break_on_hyphens=False))
    if summary.pretend and verbose:
        for action, feature, doc in summary.plan:
            lines.append("  %s %s %s" % (action, feature, json.dumps(doc, sort_keys=True)))
    for a, b in summary.failed_ranges():
        reasons = sorted({_clause(logs.redact(f.reason)) for f in summary.failures if f.start <= b and f.end >= a})
        lines.append("FAILED %s..%s: %s" % (a, b, "; ".join(reasons)))
        lines.append("  re-run: tconnectsync --start-date %s --end-date %s" % (a, b))
    return "\n".join(lines)


def summary_exit_code(summary):
    """The exit code of a one-off sync (see ``exit_code_for``)."""
    return exit_code_for(summary)[0]


def summary_dict(summary, tz_name, exit_code=None):
    """The run's summary as one JSON-able object (``--json``): for scripts and monitoring."""
    reasons = summary.skip_reasons()
    return {
        "version": __version__,
        "ok": summary.ok,
        "exit_code": summary_exit_code(summary) if exit_code is None else exit_code,
        "nothing_synced": summary.nothing_synced,
        "pretend": summary.pretend,
        "window": {"start": summary.start.isoformat(), "end": summary.end.isoformat(), "time_zone": tz_name,
                   "days": summary.days()},
        "chunks": summary.chunks,
        "features": {feature: counts.as_dict() for feature, counts in summary.counts.items()},
        "skipped": {key: {"count": n, "label": skips.label(key, n).split(" ", 1)[1]}
                    for key, n in sorted(reasons.items()) if n},
        "warnings": summary.warning_count,
        "ignored": {"count": summary.ignored_count, "by_code": summary.ignored_dict()},
        "failures": [{"start": f.start.isoformat(), "end": f.end.isoformat(), "remote": f.remote or None,
                      "reason": logs.redact(f.reason)} for f in summary.failures],
        "rerun": [{"start": a.isoformat(), "end": b.isoformat(),
                   "command": "tconnectsync --start-date %s --end-date %s" % (a, b)}
                  for a, b in summary.failed_ranges()],
        "retry_after": summary.retry_after,
    }


def _clause(text):
    """A reason as a clause inside a sentence: without its own final period."""
    return str(text).rstrip().rstrip(".")
