"""Records that span chunks, for both backends: a key to find the stored document and a named rule.

A chunk cannot always decide a record alone: t:connect repeats at 00:00 a mode still active at
midnight (the original lies in the day before), and on Tandem Source a Sleep, Exercise or
extended bolus may start in one chunk and end in another, or still run at the data's end. The
backend hands such a record to the engine as a ``Spanning``: the document this chunk would write
(if any), a ``Key`` (how to find the document Nightscout holds) and a ``Rule`` (how to merge
them). The engine (``engine_steps.spanning``) reads Nightscout, runs ``resolve`` and plans the
creates, updates and skips like any treatment's; nothing here reads or writes Nightscout.
"""
import dataclasses
import datetime as dt
import enum
from typing import Optional

from .. import timeutil
from .bolus import BOLUS_RUNNING, extended_fields
from .documents import minutes

LOOKBACK = dt.timedelta(days=3)            # how far back a continued document may have started
RUNNING = " - Not Ended"                   # reason/notes suffix of a Sleep/Exercise still running
_SERVER_FIELDS = ("_id", "mills", "utcOffset")


class Rule(enum.Enum):
    """How a spanning record's document and the stored one become what is written."""
    MIDNIGHT_REPEAT = "midnight-repeat"    # t:connect's 00:00 repeat of a mode: dropped when a stored
    #                                        document of its type spans its start (merged), else written
    KEEP_CLOSED = "keep-closed"            # a mode still running at the data's end: written unless
    #                                        Nightscout holds it closed and at least as long
    CLOSE_MODE = "close-mode"              # a mode's stop whose start an earlier chunk wrote: closes it
    GROWING_BOLUS = "growing-bolus"        # a bolus still running, or whose request an earlier chunk
    #                                        read: written, keeping what only the stored one knows
    CLOSE_EXTENDED = "close-extended"      # an extended part completing after its bolus was written


@dataclasses.dataclass(frozen=True)
class Key:
    """How to find the stored document: the one with ``identifier``; or (``event_type`` and
    ``before``) the newest of ours of that type that started before, running (reason ending
    with ``running``) if that is set, or already closed by event ``closed_by`` (its
    pump_event_id lists it); or, ``covering``, another of that type spanning ``before``."""
    identifier: Optional[str] = None
    event_type: Optional[str] = None
    before: Optional[dt.datetime] = None
    running: Optional[str] = None
    closed_by: Optional[str] = None
    covering: bool = False


@dataclasses.dataclass
class Spanning:
    """A record to merge with what Nightscout holds (see the module's docstring).

    Accounting: the items of one ``group`` (default: each its own) are one record read. Its
    first document written is that record's outcome (created/updated/unchanged); when none is
    written it is ``missing`` (a ``skips.Skip``) if nothing stored was found, else unchanged
    (merged for a midnight repeat). ``counted=False``: the record is counted elsewhere (e.g.
    merged into a document of this chunk); its documents here are extra. ``facts``: what the
    rule needs beyond ``doc`` (e.g. the stop of a mode, the extended part of a bolus)."""
    feature: str
    time: dt.datetime
    key: Key
    rule: Rule
    doc: Optional[dict] = None
    facts: dict = dataclasses.field(default_factory=dict)
    group: object = None
    counted: bool = True
    missing: object = None


def instant(doc):
    try:
        return timeutil.parse_iso_utc(doc["created_at"])
    except (KeyError, ValueError, AttributeError, TypeError):
        return None


def find(key, stored):
    """The stored document ``key`` names among ``stored`` (Nightscout's documents), or None."""
    if key.covering:
        for other in stored:
            begin = instant(other)
            if other.get("eventType") == key.event_type and other.get("identifier") != key.identifier and \
                    begin is not None and begin < key.before <= begin + dt.timedelta(
                        minutes=float(other.get("duration") or 0)):
                return other
        return None
    if key.identifier is not None:
        return next((d for d in stored if d.get("identifier") == key.identifier), None)
    candidates = [d for d in stored if d.get("eventType") == key.event_type and d.get("identifier")
                  and (key.running is None or str(d.get("reason", "")).endswith(key.running)
                       or (key.closed_by is not None and key.closed_by in _event_ids(d)))
                  and instant(d) is not None and instant(d) < key.before]
    return max(candidates, key=instant, default=None)


def _event_ids(doc):
    return [x for x in str(doc.get("pump_event_id") or "").split(",") if x]


def resolve(item, stored):
    """(the document to write or None, the outcome when None: "unchanged" or "merged")."""
    doc = _RULES[item.rule](item, stored)
    if doc is not None:
        doc = {k: v for k, v in doc.items() if k not in _SERVER_FIELDS}
    merged = item.rule is Rule.MIDNIGHT_REPEAT or (item.rule is Rule.CLOSE_MODE and stored is not None
                                                   and item.facts["key"] in _event_ids(stored))
    return doc, ("merged" if merged else "unchanged")


def _midnight_repeat(item, stored):
    return None if stored is not None else item.doc


def _keep_closed(item, stored):
    doc = item.doc
    if stored is not None and RUNNING not in str(stored.get("reason", "")) and \
            float(stored.get("duration") or 0) >= doc["duration"]:
        return None                             # a later chunk already closed it
    return doc


def _close_mode(item, stored):
    """facts: kind, stop (instant), until, by_timer, key."""
    f = item.facts
    if stored is None:
        return None                             # nothing running: the item's ``missing`` says so
    ids = _event_ids(stored)
    if f["key"] in ids:
        return None                             # the chunk that wrote it read this stop too (merged)
    out = dict(stored)
    reason = str(stored.get("reason") or f["kind"])
    if reason.endswith(RUNNING):
        reason = reason[:-len(RUNNING)]
    if f["by_timer"]:
        reason += " (Stopped by timer)"
    out.update(reason=reason, notes=reason,
               duration=max(0.0, minutes((min(f["stop"], f["until"]) - instant(stored)).total_seconds())))
    out["pump_event_id"] = ",".join(ids + [f["key"]])
    return out


def _growing_bolus(item, stored):
    """facts: request_seen (the request messages were read with the bolus)."""
    doc = item.doc
    if stored is None:
        return doc
    if BOLUS_RUNNING not in doc.get("notes", "") or BOLUS_RUNNING in str(stored.get("notes", "")):
        out = dict(doc)
        if not item.facts["request_seen"]:      # keep what only the request messages told
            for key in ("carbs", "glucose", "units"):
                if stored.get(key) not in (None, "", 0) and key not in out:
                    out[key] = stored[key]
            stored_notes = str(stored.get("notes") or "")
            if stored_notes and out["notes"].startswith("Bolus") and not stored_notes.startswith("Bolus"):
                out["notes"] = stored_notes.split(" (Extended:")[0] + out["notes"][len("Bolus"):]
        return out
    return None                                 # Nightscout already has the completed bolus


def _close_extended(item, stored):
    """facts: delivered, status, key (of the extended part's completion)."""
    f = item.facts
    if stored is None:
        return None                             # the item's ``missing`` says why
    ext, text = extended_fields(float(stored.get("insulin") or 0.0), f["delivered"], stored.get("duration"), False,
                                f["status"])
    out = dict(stored)
    out.update(ext)
    out["notes"] = str(stored.get("notes") or "Bolus").split(" (Extended:")[0] + " " + text
    ids = _event_ids(stored)
    if f["key"] not in ids:
        ids.insert(1 if ids else 0, f["key"])
    out["pump_event_id"] = ",".join(ids)
    return out


_RULES = {Rule.MIDNIGHT_REPEAT: _midnight_repeat, Rule.KEEP_CLOSED: _keep_closed, Rule.CLOSE_MODE: _close_mode,
          Rule.GROWING_BOLUS: _growing_bolus, Rule.CLOSE_EXTENDED: _close_extended}
