"""BOLUS: pump boluses -> Nightscout ``Combo Bolus`` treatments, one per BolusRequestID.

``insulin`` is what the pump delivered at once (Nightscout's own Combo Bolus convention); an
extended part is described by ``relative`` (U/h), ``duration`` (minutes), ``splitNow`` /
``splitExt`` and ``enteredinsulin`` (the whole bolus), and spelled out in ``notes``. A bolus
whose extended part is still running is uploaded with what is known and updated in place when
it completes. A bolus that delivered nothing is not uploaded.
"""
import logging

from .documents import fmt_units, identifier, minutes, treatment
from .skips import Skip

logger = logging.getLogger(__name__)


def _notes(b, in_progress):
    notes = b.description or b.options or "Bolus"
    if b.status and b.status != "Completed" and not b.extended:
        notes += " (%s: requested %s units)" % (b.status, fmt_units(b.total_requested))
    if b.user_override:
        notes += " (Override)"
    if b.extended:
        if in_progress:
            notes += " (Extended: %s U now, %s U over %s min in progress)" % (
                fmt_units(b.delivered), fmt_units(b.extended_requested), _fmt_min(b.duration_min))
        else:
            notes += " (Extended: %s U now + %s U over %s min, %s)" % (
                fmt_units(b.delivered), fmt_units(b.extended_delivered),
                _fmt_min(_actual_minutes(b) or b.duration_min), (b.extended_status or "completed").lower())
    return notes


def _fmt_min(value):
    if value is None:
        return "?"
    return ("%d" % value) if float(value).is_integer() else ("%.1f" % value)


def _actual_minutes(b):
    if b.extended_start and b.extended_end and b.extended_end > b.extended_start:
        return minutes((b.extended_end - b.extended_start).total_seconds())
    return None


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
        extended_running = b.extended and not b.extended_complete
        at = b.completion_time or b.extended_start or None
        if at is None:
            if skipped is not None:
                skipped.append(Skip("bolus-pending", "bolus %s requested %s: not delivered yet"
                                    % (b.request_id, b.request_time.isoformat())))
            continue
        total = (b.delivered or 0.0) + (b.extended_delivered or 0.0)
        if total <= 0 and not extended_running:
            if skipped is not None:
                skipped.append(Skip("bolus-zero", "bolus %s at %s: no insulin delivered (%s)" % (
                    b.request_id, b.request_time.isoformat(), b.status or "not delivered")))
            continue
        fields = {"insulin": round(b.delivered or 0.0, 3), "carbs": int(b.carbs or 0),
                  "notes": _notes(b, extended_running)}
        if b.bg:
            fields.update(glucose=int(b.bg), units="mg/dl")
        if b.extended:
            if extended_running:
                duration = b.duration_min
                ext_units = b.extended_requested
            else:
                duration = _actual_minutes(b) or b.duration_min
                ext_units = b.extended_delivered
            if duration and ext_units is not None:
                fields["duration"] = float(duration)
                fields["relative"] = round(ext_units / (duration / 60.0), 3)
            total_units = (b.delivered or 0.0) + (ext_units or 0.0)
            fields["enteredinsulin"] = round(total_units, 3)
            if total_units > 0:
                now_pct = round(100.0 * (b.delivered or 0.0) / total_units)
                fields["splitNow"] = now_pct
                fields["splitExt"] = 100 - now_pct
        docs.append(treatment("Combo Bolus", at, tz, identifier(serial, "bolus", b.request_id), **fields))
    return docs
