"""Tandem's legacy wire data (Control:IQ JSON, ws2 CSV and JSONP, therapy-events JSON) to records.

Pure functions: data in, ``(records, warnings)`` out. A record that cannot be read faithfully is
skipped with a ``ParseWarning`` naming it; an answer whose overall shape is not the one we know
raises ``TandemFormatError`` naming the field. Every time becomes an aware UTC instant:

* pseudo epochs (Control:IQ ``x``, ws2 ``/Date(ms)/``) with ``timeutil.decode_pseudo_epoch``;
* naive wall-clock strings with ``timeutil.localize_sequence`` over the records *in event order*,
  so the repeated hour of a fall-back night resolves (see ``timeutil``). A bolus's other times
  (completion, extended start and end) are the occurrence at or after the time before them.

Modules: ``ciq`` (Control:IQ therapy timeline), ``jsonp`` (ws2 JSONP, basalsuspension),
``csv_export`` (ws2 therapytimeline2csv), ``events`` (therapy-events JSON), ``common`` (what they
share). Callers use the names re-exported here: ``from ..parser import tconnect as parse``.
"""
from .ciq import parse_ciq_timeline
from .common import CIQ, CSV, EVENTS, SUSPENSION
from .csv_export import parse_therapytimeline_csv
from .events import parse_therapy_events
from .jsonp import parse_basalsuspension, parse_jsonp

__all__ = ["CIQ", "CSV", "EVENTS", "SUSPENSION", "parse_basalsuspension", "parse_ciq_timeline",
           "parse_jsonp", "parse_therapy_events", "parse_therapytimeline_csv"]
