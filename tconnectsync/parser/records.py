"""Typed records parsed from Tandem's wire formats. Every time is an aware UTC datetime.

Parsers (``parser/tconnect``, ``parser/tandemsource``) turn wire data into these; the sync features turn them into
Nightscout documents. A record that cannot be read faithfully is never produced: the parser
emits a ``ParseWarning`` naming it instead.
"""
import dataclasses
import datetime as dt
from typing import Optional


@dataclasses.dataclass(frozen=True)
class ParseWarning:
    source: str          # e.g. "ws2 therapytimeline2csv (bolus section)"
    record: str          # a short excerpt that names the record (no secrets; pump data only)
    reason: str          # what was wrong with it
    time: Optional[dt.datetime] = dataclasses.field(default=None, compare=False)   # the record's instant, if known

    def __str__(self):
        return "%s: skipped %s: %s" % (self.source, self.record, self.reason)


@dataclasses.dataclass(frozen=True)
class BasalSegment:
    """A delivery segment of the Control:IQ therapy timeline (cut at each pump-time midnight)."""
    start: dt.datetime
    duration_s: float
    rate: float                      # U/h
    kind: str                        # "profile" | "temp" | "algorithm"


@dataclasses.dataclass(frozen=True)
class SuspensionMark:
    """A delivery suspension start (Control:IQ ``suspensionDeliveryEvents`` or ws2 rows)."""
    time: dt.datetime
    reason: str                      # "manual", "control-iq", "alarm", "site-cart", ...
    continuation: bool = False       # the repeat at 00:00 of a suspension still active at midnight


@dataclasses.dataclass(frozen=True)
class Activity:
    """A Control-IQ activity mode (Control:IQ timeline ``events``)."""
    start: dt.datetime
    duration_s: float
    kind: str                        # "Sleep" | "Exercise" | "AutoBolus" | "CarbOnly"
    continuation: bool = False


@dataclasses.dataclass(frozen=True)
class CsvBasalRate:
    """A row of the ws2 CSV Basal section (pumps without Control-IQ): a rate change."""
    time: dt.datetime
    rate: float


@dataclasses.dataclass(frozen=True)
class Reading:
    time: dt.datetime
    value: int                       # mg/dL
    kind: str                        # "EGV" (CGM) | "BG" (meter)


@dataclasses.dataclass(frozen=True)
class IobValue:
    time: dt.datetime
    iob: float


@dataclasses.dataclass(frozen=True)
class PumpEvent:
    """A ws2 basalsuspension row (site/cartridge change, suspension, temp profile, ...)."""
    time: dt.datetime
    reason: str                      # SuspendReason as sent: "site-cart", "alarm", "manual", ...
    continuation: bool = False


@dataclasses.dataclass(frozen=True)
class Bolus:
    """One bolus, from t:connect's therapy-events JSON or ws2 CSV, or grouped from Tandem Source's
    pump-log events (``parser/tandemsource/boluses.py``): the same record whichever backend read it.

    ``request_id`` (BolusRequestID / BolusID as an integer string) identifies the bolus in every
    source. Extended-part fields are None for boluses without an extended part. ``None`` for a
    time or amount means the source did not (yet) give it; it is never filled with a guess.
    The last fields are what Tandem Source knows more of (their defaults fit t:connect).
    """
    request_id: str
    request_time: dt.datetime
    description: str                 # "Standard", "Standard/Correction", "Extended 50.00%/0.00", ...
    options: str                     # BolusRequestOptions: Standard, Automatic Bolus/Correction, Extended
    automatic: bool
    total_requested: float           # ActualTotalBolusRequested
    carbs: int                       # grams
    bg: Optional[int]                # mg/dL entered/used for the bolus, None if absent
    user_override: bool
    # the immediate (standard) part
    completion_time: Optional[dt.datetime]
    delivered: float                 # insulin of the immediate part
    status: str                      # CompletionStatusDesc ("Completed", "Terminated by Alarm", "User Aborted", "")
    complete: bool                   # BolusIsComplete
    # the extended part
    extended: bool = False
    extended_requested: Optional[float] = None     # BolexSize
    extended_start: Optional[dt.datetime] = None
    extended_end: Optional[dt.datetime] = None
    extended_delivered: Optional[float] = None
    extended_status: Optional[str] = None
    extended_complete: Optional[bool] = None
    duration_min: Optional[float] = None            # requested extended duration
    standard_percent: Optional[float] = None
    declined_correction: bool = False
    request_seen: bool = True        # the request was read: carbs and BG are known (False: read before the data)
    extended_only: bool = False      # only the extended part's completion was read (the rest lies before the data)
    event_keys: Optional[tuple] = None   # Tandem Source: the keys of the events it was read from


@dataclasses.dataclass
class CiqTimeline:
    segments: list
    suspensions: list
    activities: list


@dataclasses.dataclass
class CsvExport:
    readings: list
    iob: list
    basal: list
