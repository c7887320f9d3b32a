"""Tandem Source bolus events grouped into one ``records.Bolus`` per BolusID (parsing, not sync).

The request messages (64/65/66), activations (55/59), deliveries (280) and completions (20/21)
of a bolus share its BolusID (a uint16 on the pump: it repeats only after 65536 boluses). They
become the same typed record t:connect's parser yields, so one mapper (``sync/bolus.py``) makes
the Combo Bolus whichever backend read it; what only Tandem Source tells is in the record's
optional fields (the event keys, whether the request was read, a declined correction).
"""
import dataclasses

from ..records import Bolus
from . import records as R

EXTENDED_OPTIONS = (1, 5)                  # Extended Bolus, BLE Extended Bolus


@dataclasses.dataclass
class BolusEvents:
    """The events of one BolusID, by role."""
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

    def extended_requested(self):
        """The units asked for the extended part: as activated, else as delivered later, else
        from the request's total and split; None when no event says."""
        if self.bolex_activated and self.bolex_activated.size is not None:
            return self.bolex_activated.size
        for d in self.deliveries:
            if d.requested_later:
                return d.requested_later
        if self.msg3 and self.msg3.total_size is not None and self.msg2 and self.msg2.standard_percent is not None:
            return round(self.msg3.total_size * (100 - self.msg2.standard_percent) / 100.0, 3)
        return None


_SLOTS = {R.BolusRequest1: "msg1", R.BolusRequest2: "msg2", R.BolusRequest3: "msg3"}


def group_boluses(records):
    """BolusEvents per BolusID, in the order the boluses started."""
    out = {}
    for r in records:
        slot = None
        if type(r) in _SLOTS:
            slot = _SLOTS[type(r)]
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


def bolus_record(b):
    """The ``records.Bolus`` of one BolusEvents."""
    msg1, msg2, msg3, done, ext = b.msg1, b.msg2, b.msg3, b.completed, b.bolex_completed
    requested = msg3.total_size if msg3 and msg3.total_size is not None else (done.requested if done else None)
    return Bolus(
        request_id=str(b.bolus_id), request_time=b.first.time, description="",
        options=(msg2.options_name if msg2 and msg2.options_name else ""),
        automatic=(msg1.bolus_type == 2) if msg1 and msg1.bolus_type is not None else None,
        total_requested=requested, carbs=msg1.carbs if msg1 else None, bg=msg1.bg if msg1 else None,
        user_override=bool(msg2 and msg2.user_override),
        completion_time=done.time if done else None, delivered=done.delivered if done else 0.0,
        status=(done.status if done else "") or "", complete=done is not None,
        extended=b.extended, extended_requested=b.extended_requested(),
        extended_start=b.bolex_activated.time if b.bolex_activated else None,
        extended_end=ext.time if ext else None, extended_delivered=ext.delivered if ext else None,
        extended_status=ext.status if ext else None, extended_complete=ext is not None,
        duration_min=msg2.duration_min if msg2 else None,
        standard_percent=msg2.standard_percent if msg2 else None,
        declined_correction=bool(msg2 and msg2.declined_correction), request_seen=msg1 is not None,
        extended_only=done is None and not b.requested and ext is not None,
        event_keys=tuple(r.key for r in (done, ext, msg1, msg2, msg3) if r is not None))


def boluses(records):
    """One ``records.Bolus`` per BolusID among Tandem Source ``records``, in the order they started."""
    return [bolus_record(b) for b in group_boluses(records)]
