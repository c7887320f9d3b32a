"""BOLUS from Tandem Source events: one ``Combo Bolus`` per BolusID (conventions of sync/bolus.py).

The request messages (64/65/66), activations (55/59), deliveries (280) and completions (20/21)
are grouped by BolusID. ``insulin`` is what the pump delivered at once; an extended part is
``duration`` (minutes) / ``relative`` (U/h) / ``splitNow`` / ``splitExt`` / ``enteredinsulin``
and spelled out in ``notes``; carbs and BG (from the request) are ``carbs`` and ``glucose`` +
``units``. Nothing is guessed: a bolus not delivered yet, or that delivered nothing, is skipped
with a reason.

A bolus whose request an earlier chunk saw (carbs unknown here), whose extended part is still
running, or whose extended part completes in a later chunk is handed over as a
``tandemsource_upload.Partial``: merged with the document Nightscout holds (same identifier),
so no chunk undoes what another one learnt. The identifier is the BolusID, as in sync/bolus.py
(a uint16 on the pump: it repeats only after 65536 boluses).
"""
import dataclasses

from ..parser.tandemsource import records as R
from . import tandemsource_upload as upload
from .documents import identifier, minutes, treatment
from .skips import Skip

BOLUS_RUNNING = "in progress"              # notes of a bolus whose extended part still runs
EXTENDED_OPTIONS = (1, 5)                  # Extended Bolus, BLE Extended Bolus


def _pump_event_id(*records):
    return ",".join(str(r.key) for r in records if r is not None)


@dataclasses.dataclass
class BolusEvents:
    bolus_id: int
    msg1: R.BolusRequest1 = None
    msg2: R.BolusRequest2 = None
    msg3: R.BolusRequest3 = None
    activated: R.BolusActivated = None
    bolex_activated: R.BolusActivated = None
    completed: R.BolusCompleted = None
    bolex_completed: R.BolusCompleted = None
    deliveries: list = dataclasses.field(default_factory=list)

    @property
    def first(self):
        return min((r for r in self.records() if r is not None), key=lambda r: (r.group, r.seq))

    def records(self):
        return [self.msg1, self.msg2, self.msg3, self.activated, self.bolex_activated, self.completed,
                self.bolex_completed] + self.deliveries

    @property
    def extended(self):
        return bool(self.bolex_activated or self.bolex_completed
                    or (self.msg2 and self.msg2.options in EXTENDED_OPTIONS))

    @property
    def requested(self):
        return self.msg1 is not None or self.msg2 is not None


_BOLUS_SLOTS = {R.BolusRequest1: "msg1", R.BolusRequest2: "msg2", R.BolusRequest3: "msg3"}


def group_boluses(records):
    """BolusEvents per BolusID, in the order the boluses started."""
    out = {}
    for r in records:
        slot = None
        if type(r) in _BOLUS_SLOTS:
            slot = _BOLUS_SLOTS[type(r)]
        elif isinstance(r, R.BolusActivated):
            slot = "bolex_activated" if r.extended else "activated"
        elif isinstance(r, R.BolusCompleted):
            slot = "bolex_completed" if r.extended else "completed"
        elif isinstance(r, R.BolusDelivery):
            out.setdefault(r.bolus_id, BolusEvents(r.bolus_id)).deliveries.append(r)
            continue
        if slot:
            b = out.setdefault(r.bolus_id, BolusEvents(r.bolus_id))
            if getattr(b, slot) is None:
                setattr(b, slot, r)
    return sorted(out.values(), key=lambda b: (b.first.group, b.first.seq))


def _fmt(value):
    return ("%.2f" % value) if value is not None else "?"


def _fmt_min(value):
    if value is None:
        return "?"
    return ("%d" % value) if float(value).is_integer() else ("%.1f" % value)


def _extended_requested(b):
    if b.bolex_activated and b.bolex_activated.size is not None:
        return b.bolex_activated.size
    for d in b.deliveries:
        if d.requested_later:
            return d.requested_later
    if b.msg3 and b.msg3.total_size is not None and b.msg2 and b.msg2.standard_percent is not None:
        return round(b.msg3.total_size * (100 - b.msg2.standard_percent) / 100.0, 3)
    return None


def extended_fields(now_units, ext_units, duration, running, status=""):
    """The Combo Bolus fields of an extended part (Nightscout's convention, as sync/bolus.py)."""
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
        text = "(Extended: %s U now, %s U over %s min %s)" % (_fmt(now_units), _fmt(ext_units),
                                                             _fmt_min(duration), BOLUS_RUNNING)
    else:
        text = "(Extended: %s U now + %s U over %s min, %s)" % (_fmt(now_units), _fmt(ext_units),
                                                               _fmt_min(duration), (status or "completed").lower())
    return fields, text


def bolus_owner(b):
    """The instant that decides which chunk a bolus belongs to: its document's time (delivery
    completed, or the extended part started), else when it was first logged."""
    if b.completed is None and not b.requested and b.bolex_completed is not None:
        return b.bolex_completed.time
    if b.completed is not None:
        return b.completed.time
    return b.bolex_activated.time if b.bolex_activated else b.first.time


def bolus_documents(boluses, ctx):
    docs = []
    for b in boluses:
        doc = _bolus_document(b, ctx)
        if doc is not None:
            docs.append(doc)
    return docs


def _bolus_document(b, ctx):
    ident = identifier(ctx.serial, "bolus", b.bolus_id)
    if b.completed is None and not b.requested and b.bolex_completed is not None:
        return upload.Partial("BOLUS", b.bolex_completed.time, _close_extended(b, ctx), upload.by_identifier(ident),
                              missing=Skip("bolus-orphan", "extended part of bolus %d completed %s: the bolus itself "
                                           "is neither in this window nor in Nightscout"
                                           % (b.bolus_id, ctx.local(b.bolex_completed.time))))
    at = b.completed.time if b.completed else (b.bolex_activated.time if b.bolex_activated else None)
    if at is None:
        ctx.skip("BOLUS", "bolus-pending", "bolus %d requested %s: not delivered yet" % (b.bolus_id, ctx.local(b.first.time)),
                 at=b.first.time)
        return None
    if ctx.future(at):
        ctx.skip("BOLUS", "future", "bolus %d at %s: dated in the future (pump clock ahead?)" % (b.bolus_id, ctx.local(at)),
                 at=at)
        return None
    now_units = b.completed.delivered if b.completed else 0.0
    ext_running = b.extended and b.bolex_completed is None
    ext_units = b.bolex_completed.delivered if b.bolex_completed else None
    if now_units + (ext_units or 0.0) <= 0 and not ext_running:
        status = (b.completed.status if b.completed else "") or "not delivered"
        ctx.skip("BOLUS", "bolus-zero", "bolus %d at %s: no insulin delivered (%s)" % (b.bolus_id, ctx.local(at), status),
                 at=at)
        return None
    notes = (b.msg2.options_name if b.msg2 and b.msg2.options_name else "Bolus")
    if b.completed and b.completed.status and b.completed.status != "Completed" and not b.extended:
        requested = b.msg3.total_size if b.msg3 and b.msg3.total_size is not None else b.completed.requested
        notes += " (%s: requested %s units)" % (b.completed.status, _fmt(requested))
    if b.msg2 and b.msg2.user_override:
        notes += " (Override)"
    if b.msg2 and b.msg2.declined_correction:
        notes += " (Declined Correction)"
    fields = {"insulin": round(now_units, 3)}
    if b.msg1 is not None:
        fields["carbs"] = int(b.msg1.carbs or 0)
        if b.msg1.bg:
            fields.update(glucose=int(b.msg1.bg), units="mg/dl")
    if b.extended:
        if ext_running:
            duration, units = (b.msg2.duration_min if b.msg2 else None), _extended_requested(b)
        else:
            start = b.bolex_activated.time if b.bolex_activated else None
            actual = minutes((b.bolex_completed.time - start).total_seconds()) if start else None
            duration = actual if actual and actual > 0 else (b.msg2.duration_min if b.msg2 else None)
            units = ext_units
        ext, text = extended_fields(now_units, units, duration, ext_running,
                                    b.bolex_completed.status if b.bolex_completed else "")
        fields.update(ext)
        notes += " " + text
    fields["notes"] = notes
    fields["pump_event_id"] = _pump_event_id(b.completed, b.bolex_completed, b.msg1, b.msg2, b.msg3)
    doc = treatment("Combo Bolus", at, ctx.tz, ident, **fields)
    if b.msg1 is None or ext_running:
        # Started in an earlier chunk (carbs, BG, options unknown here) or still running: merged
        # with what Nightscout holds, so a re-run of this chunk alone never undoes later news.
        return upload.Partial("BOLUS", at, _merge_bolus(doc, known_request=b.msg1 is not None),
                              upload.by_identifier(ident))
    return doc


def _merge_bolus(doc, known_request):
    def merge(stored):
        if stored is None:
            return doc
        if BOLUS_RUNNING not in doc.get("notes", "") or BOLUS_RUNNING in str(stored.get("notes", "")):
            out = dict(doc)
            if not known_request:               # keep what only the request messages told
                for key in ("carbs", "glucose", "units"):
                    if stored.get(key) not in (None, "", 0) and key not in out:
                        out[key] = stored[key]
                stored_notes = str(stored.get("notes") or "")
                if stored_notes and out["notes"].startswith("Bolus") and not stored_notes.startswith("Bolus"):
                    out["notes"] = stored_notes.split(" (Extended:")[0] + out["notes"][len("Bolus"):]
            return out
        return None                             # Nightscout already has the completed bolus
    return merge


def _close_extended(b, ctx):
    """The extended part of a bolus whose request and now-part were synced by an earlier chunk."""
    part = b.bolex_completed

    def merge(stored):
        if stored is None:
            return None                         # the Partial's ``missing`` says why
        now_units = float(stored.get("insulin") or 0.0)
        duration = stored.get("duration")
        ext, text = extended_fields(now_units, part.delivered, duration, False, part.status)
        out = {k: v for k, v in stored.items() if k not in ("_id", "mills", "utcOffset")}
        out.update(ext)
        out["notes"] = str(stored.get("notes") or "Bolus").split(" (Extended:")[0] + " " + text
        ids = [x for x in str(stored.get("pump_event_id") or "").split(",") if x]
        if part.key not in ids:
            ids.insert(1 if ids else 0, part.key)
        out["pump_event_id"] = ",".join(ids)
        return out
    return merge
