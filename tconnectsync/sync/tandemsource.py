"""The Tandem Source backend: pump-log events -> the engine's ChunkResult."""
import datetime as dt
import logging

from .. import timeutil
from ..errors import LoginThrottled
from ..errors import LoginError, TconnectsyncError
from .tandemsource_docs import source_documents

logger = logging.getLogger(__name__)

UTC = dt.timezone.utc
# Tandem Source serves up to 28 days per request; a chunk of 7 days keeps memory small and a
# failed chunk cheap to retry day by day, at one request per week of backfill.
CHUNK_DAYS = 7
MARGIN_DAYS = 1           # read around each chunk: what is open at its edges ends within a day
READ_AHEAD_DAYS = 28      # past the margin, for a record still open there: at most a request's days at a time


class TandemSourceBackend:
    name = "tandemsource"
    remote = "Tandem Source"
    chunk_days = CHUNK_DAYS

    def __init__(self, api, config, clock=None):
        self.api = api
        self.config = config
        self.tz = config.tz
        self.clock = clock
        self._pump = None
        self._pumper = None

    @property
    def pump(self):
        if self._pump is None:
            self._pump = self.api.choose_pump(self.config.pump_serial or "")
            logger.info("Syncing %s", self._pump.describe() if hasattr(self._pump, "describe") else self._pump.serial)
        return self._pump

    @property
    def serial(self):
        return self.pump.serial

    def _now(self):
        if self.clock is not None:
            return dt.datetime.fromtimestamp(self.clock(), UTC)
        return dt.datetime.now(UTC)

    def poll(self):
        """The cheap marker of new uploads: when the pump logged its newest event (one request)."""
        newest = self.api.newest_event_time(self.pump)
        return timeutil.iso_utc(newest) if newest else None

    def chunk(self, start, end, features, want_iob=False, window_end=None):
        """The ChunkResult of pump-local days [start, end] of a window ending ``window_end``.

        The events are read with a margin: one day before ``start`` and, when the window goes
        on after ``end``, one day after (never past the window's end, nor today). The records
        starting inside [start, end] are decided here, with what the margin tells about them (a
        basal's end, a bolus's request, a mode's stop); those starting in the margin are
        decided by the neighbouring chunk. So a window gives the same documents in chunks of
        any size; the records still open at the window's end are provisional, and a later
        sync that covers their day updates them in place. A record it decides that is still
        open where the read ends (no event for more than the margin: a basal, a Sleep) is read
        on for, up to 28 days at a time, until it closes or the window (or today) ends."""
        pump = self.pump
        now = self._now()
        today = now.astimezone(self.tz).date()
        last = max(end, min(window_end or end, end + dt.timedelta(days=MARGIN_DAYS), today))
        try:
            logs = self.api.pump_logs(pump, start - dt.timedelta(days=MARGIN_DAYS), last)
        except (LoginError, LoginThrottled):
            raise
        except TconnectsyncError as exc:
            # The margin is context: a day Tandem cannot serve must not fail its neighbours too.
            logger.warning("Reading %s..%s with a day around it failed (%s); reading it alone, its edges "
                           "may stay provisional until a later sync", start, end, exc)
            logs, last = self.api.pump_logs(pump, start, end), end
        settings = None
        if "PROFILES" in features:
            settings = pump.settings if getattr(pump, "settings", None) else self.api.pumper()
        owned = (timeutil.day_bounds_utc(start, self.tz)[0], timeutil.day_bounds_utc(end, self.tz)[1])
        events, changes = list(logs.events), list(logs.clock_changes)
        bound = min(window_end or end, today)
        while True:
            result = source_documents(events, features, pump.serial, self.tz, now=now,
                                      clock_changes=changes, pump_settings=settings,
                                      data_until=timeutil.day_bounds_utc(last, self.tz)[1], owned=owned,
                                      profile_upload_mode=self.config.profile_upload_mode)
            if not result.open_at_end or last >= bound:
                break
            ahead = min(bound, last + dt.timedelta(days=READ_AHEAD_DAYS))
            try:
                more = self.api.pump_logs(pump, last + dt.timedelta(days=1), ahead)
            except (LoginError, LoginThrottled):
                raise
            except TconnectsyncError as exc:
                logger.warning("Reading %s..%s, after %s..%s, for a record still open failed (%s); it stays "
                               "provisional until a later sync", last + dt.timedelta(days=1), ahead, start, end, exc)
                break
            events, changes, last = _joined(events, more.events), _joined(changes, more.clock_changes), ahead
        if not want_iob:
            result.iob = None
        return result


def _joined(events, more):
    """``events`` and ``more`` (raw pump-log events) without repeats (same sequence group and number)."""
    seen = {(e.get("sequenceGroup") or 0, e.get("sequenceNumber")) for e in events}
    return events + [e for e in more if (e.get("sequenceGroup") or 0, e.get("sequenceNumber")) not in seen]
