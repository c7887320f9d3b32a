"""The simulated pump's history as data: what the scenario plans, what a window of days
holds, and the "truth" the tests compare the product's output with.

These types belong to the sandbox alone (the product has its own in ``parser/records.py``). The
truth records carry the same field names as the product's records, so a test can hand them to
a product mapper to compute what Nightscout should hold, but they are separate classes: the
sandbox never imports the product.
"""
import dataclasses
import datetime as dt
from typing import Optional


# ---------------------------------------------------------------- what the scenario plans

@dataclasses.dataclass
class PlannedBolus:
    req: int
    completion: int
    kind: str                   # "std" | "stdcorr" | "auto" | "ext"
    carbs: int
    bg: Optional[int]           # mg/dL the pump used (CGM value or typed fingerstick)
    bg_source: str              # "cgm" | "finger"
    food: float
    corr: float
    requested: float            # ActualTotalBolusRequested (whole bolus)
    calc_total: float           # what the pump calculated (differs on overrides)
    delivered: float            # immediate (standard) part delivered
    status_id: int = 3
    status: str = "Completed"
    override: bool = False
    ext_percent: int = 0
    ext_minutes: int = 0
    ext_size: float = 0.0
    ext_start: int = 0
    ext_end: int = 0
    req_offset: int = 0
    # filled in by Scenario._materialize
    request_id: int = 0
    index_id: int = 0
    iob: float = 0.0
    ext_iob: float = 0.0
    source_rec_id: int = 0

    @property
    def extended(self):
        return self.kind == "ext"

    def ext_done(self, cutoff):
        return self.extended and self.ext_end <= cutoff

    def deliveries(self):
        """(instant, units) actually infused: the immediate part, then the extended part in
        5-minute steps."""
        out = []
        if self.delivered > 0:
            out.append((self.completion, self.delivered))
        if self.extended and self.ext_size > 0:
            steps = max(1, self.ext_minutes * 60 // 300)
            for i in range(steps):
                out.append((self.ext_start + 300 * (i + 1), self.ext_size / steps))
        return out



@dataclasses.dataclass
class Plan:
    p: int
    start: int
    end: int
    segments: list = dataclasses.field(default_factory=list)     # (start, end, kind, rate)
    ciq_zero: list = dataclasses.field(default_factory=list)     # (start, end) control-iq suspensions
    suspensions: list = dataclasses.field(default_factory=list)  # (start, end, reason), no delivery
    activities: list = dataclasses.field(default_factory=list)   # (start, end, eventType)
    ws2: list = dataclasses.field(default_factory=list)          # (instant, SuspendReason)
    boluses: list = dataclasses.field(default_factory=list)      # PlannedBolus, by request time
    finger: list = dataclasses.field(default_factory=list)       # (instant, mg/dL)
    events: list = dataclasses.field(default_factory=list)       # sorted pump event instants
    req_span: int = 0                                            # BolusRequestIDs used


@dataclasses.dataclass
class WindowData:
    """What a window of whole pump-local days holds, for the server to render. Instants are UTC
    seconds; every list is in event order."""
    start_date: dt.date
    end_date: dt.date
    cutoff: int
    report_time: int
    ciq_days: list                  # dates of the window with Control:IQ data
    segments: list                  # (start, duration_s, rate, kind), Control-IQ days only
    ciq_suspensions: list           # (instant, reason, continuation)
    activities: list                # (instant, duration_s, eventType, continuation)
    readings: list                  # (instant, "EGV" | "BG", mg/dL)
    iob: list                       # (instant, EventID, units)
    csv_basal: list                 # (instant, rate), days without Control-IQ only
    ws2_events: list                # (instant, SuspendReason, continuation)
    boluses: list                   # PlannedBolus (completion <= cutoff)
    bg_events: list                 # (instant, mg/dL, iob, index_id)
    suspended_s: int = 0
    sleep_s: int = 0
    exercises: int = 0
    covered_s: int = 0


@dataclasses.dataclass(frozen=True)
class TruthSuspension:
    start: dt.datetime
    end: Optional[dt.datetime]      # None: still suspended at the cutoff
    reason: str                     # "manual" | "site-cart" | "alarm" | "control-iq"


@dataclasses.dataclass(frozen=True)
class TruthSiteChange:
    suspended_at: dt.datetime
    tubing_filled: Optional[dt.datetime]
    cannula_filled: Optional[dt.datetime]
    resumed_at: Optional[dt.datetime]
    empty_cartridge_alarm: bool     # the change followed an empty-cartridge alarm


@dataclasses.dataclass(frozen=True)
class TruthBasal:
    segments: list                  # BasalSegment, cut at pump-local midnights and the cutoff
    suspensions: list               # TruthSuspension


# ---------------------------------------------------------------- truth records (UTC instants)

@dataclasses.dataclass(frozen=True)
class BasalSegment:
    """Basal delivery as Control:IQ cuts it (at each pump-local midnight and at the cutoff)."""
    start: dt.datetime
    duration_s: float
    rate: float                     # U/h
    kind: str                       # "profile" | "temp" | "algorithm"


@dataclasses.dataclass(frozen=True)
class Activity:
    start: dt.datetime
    duration_s: float
    kind: str                       # "Sleep" | "Exercise"
    continuation: bool = False


@dataclasses.dataclass(frozen=True)
class Reading:
    time: dt.datetime
    value: int                      # mg/dL
    kind: str                       # "EGV" (CGM) | "BG" (meter)


@dataclasses.dataclass(frozen=True)
class IobValue:
    time: dt.datetime
    iob: float


@dataclasses.dataclass(frozen=True)
class PumpEvent:
    """A ws2 basalsuspension row (without the 00:00 ``previous`` repeats)."""
    time: dt.datetime
    reason: str                     # "site-cart", "alarm", "manual", "temp-profile", "basal-profile"
    continuation: bool = False


@dataclasses.dataclass(frozen=True)
class Bolus:
    """A bolus as the pump delivered it; ``None`` where the pump does not know yet (a running
    extended part has no end, delivered amount or status)."""
    request_id: str
    request_time: dt.datetime
    description: str
    options: str
    automatic: bool
    total_requested: float
    carbs: int
    bg: Optional[int]
    user_override: bool
    completion_time: Optional[dt.datetime]
    delivered: float
    status: str
    complete: bool
    extended: bool = False
    extended_requested: Optional[float] = None
    extended_start: Optional[dt.datetime] = None
    extended_end: Optional[dt.datetime] = None
    extended_delivered: Optional[float] = None
    extended_status: Optional[str] = None
    extended_complete: Optional[bool] = None
    duration_min: Optional[float] = None
    standard_percent: Optional[float] = None
