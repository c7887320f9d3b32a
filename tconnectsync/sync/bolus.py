"""BOLUS: bolus records -> Nightscout ``Combo Bolus`` treatments, one per BolusRequestID.

The one mapper for both backends: ``combo_bolus`` takes a ``parser.records.Bolus``, whether
t:connect's parser or Tandem Source's (``parser/tandemsource/boluses.py``) read it.

``insulin`` is what the pump delivered at once (Nightscout's own Combo Bolus convention); an
extended part is described by ``relative`` (U/h), ``duration`` (minutes), ``splitNow`` /
``splitExt`` and ``enteredinsulin`` (the whole bolus), and spelled out in ``notes``; carbs and
BG (when the request was read) are ``carbs`` and ``glucose`` + ``units``. A bolus whose
extended part is still running is uploaded with what is known and updated in place when it
completes. Nothing is guessed: a bolus not delivered yet, or that delivered nothing, is skipped
with a reason. The identifier is the BolusRequestID (a uint16 on the pump).
"""
import logging

from .documents import FUTURE_SLACK, created_at, fmt_units, identifier, minutes, treatment
from .skips import Skip

logger = logging.getLogger(__name__)

BOLUS_RUNNING = "in progress"              # notes of a bolus whose extended part still runs


def _fmt_min(value):
    if value is None:
        return "?"
    return ("%d" % value) if float(value).is_integer() else ("%.1f" % value)


def _actual_minutes(b):
    if b.extended_start and b.extended_end and b.extended_end > b.extended_start:
        return minutes((b.extended_end - b.extended_start).total_seconds())
    return None


def extended_fields(now_units, ext_units, duration, running, status=""):
    """The Combo Bolus fields and the notes text of an extended part (Nightscout's convention)."""
    fields = {}
    if duration and ext_units is not None:
        fields["duration"] = float(duration)
        fields["relative"] = round(ext_units / (duration / 60.0), 3)
    total = (now_units or 0.0) + (ext_units or 0.0)
    fields["enteredinsulin"] = round(total, 3)
    if total > 0:
        fields["splitNow"] = round(100.0 * (now_units or 0.0) / total)
        fields["splitExt"] = 100 - fields["splitNow"]
    if running:
        text = "(Extended: %s U now, %s U over %s min %s)" % (fmt_units(now_units), fmt_units(ext_units),
                                                             _fmt_min(duration), BOLUS_RUNNING)
    else:
        text = "(Extended: %s U now + %s U over %s min, %s)" % (fmt_units(now_units), fmt_units(ext_units),
                                                               _fmt_min(duration), (status or "completed").lower())
    return fields, text


def bolus_time(b):
    """The instant of a bolus's document: its immediate part completed, else its extended part started."""
    return b.completion_time or b.extended_start or None


def combo_bolus(b, serial, tz, now=None):
    """(document, None), or (None, a ``skips.Skip`` saying why there is none), for bolus record ``b``.
    ``now`` (aware), if given: a bolus dated after it (pump clock ahead) is skipped."""
    at = bolus_time(b)
    if at is None:
        return None, Skip("bolus-pending", "bolus %s requested %s: not delivered yet"
                          % (b.request_id, created_at(b.request_time, tz)))
    if now is not None and at > now + FUTURE_SLACK:
        return None, Skip("future", "bolus %s at %s: dated in the future (pump clock ahead?)"
                          % (b.request_id, created_at(at, tz)))
    running = b.extended and not b.extended_complete
    now_units = b.delivered or 0.0
    if now_units + (b.extended_delivered or 0.0) <= 0 and not running:
        return None, Skip("bolus-zero", "bolus %s at %s: no insulin delivered (%s)"
                          % (b.request_id, created_at(at, tz), b.status or "not delivered"))
    notes = b.description or b.options or "Bolus"
    if b.status and b.status != "Completed" and not b.extended:
        notes += " (%s: requested %s units)" % (b.status, fmt_units(b.total_requested))
    if b.user_override:
        notes += " (Override)"
    if b.declined_correction:
        notes += " (Declined Correction)"
    fields = {"insulin": round(now_units, 3)}
    if b.request_seen:
        fields["carbs"] = int(b.carbs or 0)
        if b.bg:
            fields.update(glucose=int(b.bg), units="mg/dl")
    if b.extended:
        if running:
            duration, units = b.duration_min, b.extended_requested
        else:
            duration, units = _actual_minutes(b) or b.duration_min, b.extended_delivered
        ext, text = extended_fields(now_units, units, duration, running, b.extended_status or "")
        fields.update(ext)
        notes += " " + text
    fields["notes"] = notes
    if b.event_keys is not None:
        fields["pump_event_id"] = ",".join(b.event_keys)
    return treatment("Combo Bolus", at, tz, identifier(serial, "bolus", b.request_id), **fields), None


def documents(boluses, serial, tz, skipped=None, tally=None):
    """Documents for ``boluses``; reasons (``skips.Skip``) for boluses not uploaded are appended
    to ``skipped``; a bolus listed twice counts as merged in ``tally`` (a ``basal.Tally``)."""
    docs = []
    seen = set()
    for b in sorted(boluses, key=lambda b: b.request_time):
        if b.request_id in seen:
            if tally is not None:
                tally.merged += 1               # the same bolus listed twice: one document
            continue
        seen.add(b.request_id)
        doc, skip = combo_bolus(b, serial, tz)
        if doc is not None:
            docs.append(doc)
        elif skipped is not None:
            skipped.append(skip)
    return docs
