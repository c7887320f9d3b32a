"""Typed records of Tandem Source pump-log events (docs/tandem-source.md §6).

``parser/tandemsource`` builds these from the pump-logs JSON or the binary event stream.
Every record carries the event's identity (``code``, ``seq``, ``group``), the pump's own
wall-clock reading (``wall``, naive) and the UTC instant it stands for (``time``, aware).
Amounts are in physical units (U, U/h, g, mg/dL, minutes); enums keep their integer code next
to their label, so nothing is lost. A field the source did not send is ``None``, never a guess.
"""
import dataclasses
import datetime as dt
from typing import Optional

_RECORD = dict(frozen=True, kw_only=True)


@dataclasses.dataclass(**_RECORD)
class SourceEvent:
    code: int                        # event id (e.g. 279)
    seq: int                         # the pump's sequence number
    group: int = 0                   # sequenceGroup (0 in all captured data)
    wall: dt.datetime                # pump wall clock, naive
    time: dt.datetime                # aware UTC

    @property
    def key(self):
        """A stable key for identifiers: the sequence number (prefixed by a non-zero group)."""
        return str(self.seq) if not self.group else "%d.%d" % (self.group, self.seq)


@dataclasses.dataclass(**_RECORD)
class OtherEvent(SourceEvent):
    """A catalogued event the sync does not use (kept for completeness; raw field values)."""
    name: str
    fields: dict


@dataclasses.dataclass(**_RECORD)
class IgnoredEvent(SourceEvent):
    """An event of a code without a definition (``events.ignore_reason``): counted, never decoded."""
    reason: str                      # "asked for, no public definition" | "not asked for" | "no definition"


@dataclasses.dataclass(**_RECORD)
class BasalDelivery(SourceEvent):
    """279 LID_BASAL_DELIVERY: the rate the pump delivers from now on."""
    rate_source: int                 # 0 Suspended, 1 Profile, 2 Temp Rate, 3 Algorithm, 4 Temp Rate and Algorithm
    rate_source_name: str            # "Suspended", "Profile", "TempRate", ... ("" for unknown codes)
    rate: float                      # commanded rate, U/h
    profile_rate: Optional[float] = None
    temp_rate: Optional[float] = None        # None when no temp rate runs (65535)
    algorithm_rate: Optional[float] = None


@dataclasses.dataclass(**_RECORD)
class BasalRateChange(SourceEvent):
    """3 LID_BASAL_RATE_CHANGE (decoded, not used for documents: 279 is the basal source)."""
    rate: float
    base_rate: Optional[float] = None
    max_rate: Optional[float] = None
    change_type: Optional[int] = None        # bitmask
    idp: Optional[int] = None


@dataclasses.dataclass(**_RECORD)
class PumpSuspended(SourceEvent):
    """11 LID_PUMPING_SUSPENDED."""
    reason_code: int
    reason: str                      # "UserAborted", "TerminatedByAlarm", ... ("" for unknown codes)
    insulin_amount: Optional[int] = None


@dataclasses.dataclass(**_RECORD)
class PumpResumed(SourceEvent):
    """12 LID_PUMPING_RESUMED."""
    insulin_amount: Optional[int] = None


@dataclasses.dataclass(**_RECORD)
class BolusRequest1(SourceEvent):
    """64 LID_BOLUS_REQUESTED_MSG1."""
    bolus_id: int
    bolus_type: Optional[int] = None         # 0 Insulin, 1 Carb, 2 Automatic Correction, 3 Remote
    bg: Optional[int] = None                 # mg/dL, 0 = none entered
    carbs: Optional[int] = None              # g
    correction_included: Optional[bool] = None
    iob: Optional[float] = None
    carb_ratio: Optional[float] = None       # g/U


@dataclasses.dataclass(**_RECORD)
class BolusRequest2(SourceEvent):
    """65 LID_BOLUS_REQUESTED_MSG2."""
    bolus_id: int
    options: Optional[int] = None
    options_name: str = ""                   # "Standard Bolus", "Extended Bolus", "Automatic Bolus", ...
    standard_percent: Optional[int] = None
    duration_min: Optional[int] = None       # requested extended duration
    target_bg: Optional[int] = None
    isf: Optional[int] = None
    declined_correction: Optional[bool] = None
    user_override: Optional[bool] = None


@dataclasses.dataclass(**_RECORD)
class BolusRequest3(SourceEvent):
    """66 LID_BOLUS_REQUESTED_MSG3."""
    bolus_id: int
    food_size: Optional[float] = None
    correction_size: Optional[float] = None
    total_size: Optional[float] = None


@dataclasses.dataclass(**_RECORD)
class BolusActivated(SourceEvent):
    """55 LID_BOLUS_ACTIVATED (``extended`` False) and 59 LID_BOLEX_ACTIVATED (True)."""
    bolus_id: int
    extended: bool
    size: Optional[float] = None
    iob: Optional[float] = None


@dataclasses.dataclass(**_RECORD)
class BolusCompleted(SourceEvent):
    """20 LID_BOLUS_COMPLETED (``extended`` False) and 21 LID_BOLEX_COMPLETED (True)."""
    bolus_id: int
    extended: bool
    delivered: float                         # U
    status_code: Optional[int] = None
    status: str = ""                         # "Completed", "User Aborted", ...
    requested: Optional[float] = None
    iob: Optional[float] = None


@dataclasses.dataclass(**_RECORD)
class BolusDelivery(SourceEvent):
    """280 LID_BOLUS_DELIVERY (decoded; amounts in U)."""
    bolus_id: int
    started: Optional[bool] = None           # Bolus Delivery Status 1 started, 0 completed
    bolus_type: Optional[int] = None         # bitmask: 0 Now, 1 Later, 2 Override, 3 Correction, 4 Carb, 5 Eating Soon
    source: Optional[int] = None
    requested_now: Optional[float] = None
    requested_later: Optional[float] = None
    correction: Optional[float] = None
    delivered_total: Optional[float] = None
    extended_duration_min: Optional[int] = None


@dataclasses.dataclass(**_RECORD)
class BgReading(SourceEvent):
    """16 LID_BG_READING_TAKEN."""
    bg: int
    iob: Optional[float] = None
    entry_type: Optional[int] = None         # 0 typed in, 1 from the CGM


@dataclasses.dataclass(**_RECORD)
class CarbsEntered(SourceEvent):
    """48 LID_CARBS_ENTERED (custom definition)."""
    carbs: float


@dataclasses.dataclass(**_RECORD)
class Alarm(SourceEvent):
    """5 LID_ALARM_ACTIVATED (``malfunction`` False) and 6 LID_MALFUNCTION_ACTIVATED (True)."""
    alarm_id: int
    name: str                                # "EmptyCartridgeAlarm"; "Malfunction" for event 6
    malfunction: bool = False


@dataclasses.dataclass(**_RECORD)
class CartridgeFilled(SourceEvent):
    """33 LID_CARTRIDGE_FILLED."""
    insulin_volume: Optional[int] = None     # U (t:slim X2 and Mobi)
    v2_volume: Optional[float] = None        # U (0 on Mobi)


@dataclasses.dataclass(**_RECORD)
class CannulaFilled(SourceEvent):
    """61 LID_CANNULA_FILLED."""
    prime_size: Optional[float] = None
    status: str = ""


@dataclasses.dataclass(**_RECORD)
class TubingFilled(SourceEvent):
    """63 LID_TUBING_FILLED (prime size -1 = not recorded)."""
    prime_size: Optional[float] = None
    status: str = ""


@dataclasses.dataclass(**_RECORD)
class UserModeChange(SourceEvent):
    """229 LID_AA_USER_MODE_CHANGE: sleep / exercise / eating-soon mode start and stop."""
    action: int                              # 1 Start Sleep, 2 Stop Sleep, 3 Start Exercise, 4 Stop Exercise, 5 Stop All, 6/7 Eating Soon
    previous_mode: Optional[int] = None
    current_mode: Optional[int] = None
    active_sleep_schedule: Optional[int] = None      # bitmask
    sleep_started_by_gui: Optional[bool] = None
    exercise_time_min: Optional[int] = None
    exercise_timed: Optional[bool] = None
    exercise_stopped_by_timer: Optional[bool] = None


@dataclasses.dataclass(**_RECORD)
class CgmReading(SourceEvent):
    """256 (Dexcom G6), 399 (G7), 372 (Libre 2), 480 (Libre 3)."""
    sensor: str                              # "G6", "G7", "Libre 2", "Libre 3"
    status: int                              # glucoseValueStatus
    value: int                               # mg/dL as sent
    egv_wall: dt.datetime                    # the reading's own time, pump wall clock
    egv_time: dt.datetime                    # the same as a UTC instant
    rate: Optional[float] = None             # mg/dL/min


@dataclasses.dataclass(**_RECORD)
class CgmAlert(SourceEvent):
    """171 / 369 (Dexcom) / 460 (Libre 2) CGM alert activated."""
    family: str                              # "CGM", "Dexcom CGM", "Libre CGM"
    alert_id: int
    name: Optional[str] = None               # "CgmHigh"; None for codes without a table entry


@dataclasses.dataclass(**_RECORD)
class CgmSession(SourceEvent):
    """CGM session start (212, 404), join (213, 394, 406, 477) and stop (214, 447, 405, 486)."""
    action: str                              # "start" | "join" | "stop"
    sensor: str


@dataclasses.dataclass(**_RECORD)
class ClockChange(SourceEvent):
    """13 LID_TIME_CHANGED / 14 LID_DATE_CHANGED: the pump's wall clock jumped by ``delta_s``.

    ``delta_s`` is None when the payload could not be read consistently with the event's own
    time (the units are undocumented, docs/tandem-source.md §9); such a change is not used.
    """
    kind: str                                # "time" | "date"
    delta_s: Optional[float] = None
    prior_wall: Optional[dt.datetime] = None
    after_wall: Optional[dt.datetime] = None


@dataclasses.dataclass(**_RECORD)
class DailyBasal(SourceEvent):
    """81 LID_DAILY_BASAL (custom definition, current public layout; binary stream only)."""
    total_basal: Optional[float] = None
    last_rate: Optional[float] = None
    iob: Optional[float] = None
    battery_percent: Optional[int] = None    # charge, 0-100 (None when the pump sent more than 100)
    battery_mv: Optional[int] = None         # LiPo voltage, millivolts
    final_event: Optional[bool] = None       # the pump's close-out flag (usually the day's last 81)
