"""The Tandem Source backend: pump-log events -> the engine's ChunkResult."""
import datetime as dt
import logging

from .. import timeutil
from .tandemsource_docs import source_documents

logger = logging.getLogger(__name__)

UTC = dt.timezone.utc
# Tandem Source serves up to 28 days per request; a chunk of 7 days keeps memory small and a
# failed chunk cheap to retry day by day, at one request per week of backfill.
CHUNK_DAYS = 7


class TandemSourceBackend:
    name = "source"
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

    def chunk(self, start, end, features, want_iob=False):
        pump = self.pump
        logs = self.api.pump_logs(pump, start, end)
        settings = None
        if "PROFILES" in features:
            settings = pump.settings if getattr(pump, "settings", None) else self.api.pumper()
        window_end = timeutil.day_bounds_utc(end, self.tz)[1]
        result = source_documents(logs.events, features, pump.serial, self.tz, now=self._now(),
                                  clock_changes=logs.clock_changes, pump_settings=settings,
                                  data_until=window_end, profile_upload_mode=self.config.profile_upload_mode)
        if not want_iob:
            result.iob = None
        return result
