"""The Tandem Source backend: pump-log events -> the engine's ChunkResult.

Several pumps: with PUMP_SERIAL_NUMBER unset, every pump on the account that has data is synced
(``TandemSourceApi.pumps_to_sync``: a pump replaced under warranty and its successor). A chunk
asks each pump whose data range meets its days (the pump in use: open-ended) and concatenates
their results (``merge_results``); each pump's documents carry its own serial in their
identifiers. IOB, PROFILES, ``serial`` and ``poll()`` are the pump in use's (the last one).
"""
import datetime as dt
import logging

from .. import timeutil
from ..errors import LoginThrottled
from ..errors import LoginError, TconnectsyncError
from .backend import ChunkResult
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
    iob_with_every_chunk = True     # IOB comes with the events each chunk reads: no extra request

    def __init__(self, api, config, clock=None):
        self.api = api
        self.config = config
        self.tz = config.tz
        self.clock = clock
        self._pumps = None
        self._with_data = None        # the serials of the account's pumps with data, as last read

    @property
    def pumps(self):
        """The pumps synced, the one in use last (read once; ``poll()`` reads them again)."""
        if self._pumps is None:
            listed = self.api.pumps()
            self._pumps = self.api.pumps_to_sync(self.config.pump_serial or "", pumps=listed)
            self._with_data = _with_data(listed)
            self._log_pumps()
        return self._pumps

    def _log_pumps(self):
        if len(self._pumps) == 1:
            logger.info("Syncing %s", self._pumps[0].describe())
        else:
            logger.info("Syncing the %d pumps on the Tandem Source account, each for the days it has data: %s "
                        "(set PUMP_SERIAL_NUMBER to sync one only)", len(self._pumps),
                        "; ".join("%s %s" % (p.describe(), p.describe_range()) for p in self._pumps))

    @property
    def pump(self):
        """The pump in use: its IOB, its profiles, its uploads are what ``poll()`` watches."""
        return self.pumps[-1]

    def synced_pumps(self):
        """The pumps synced and their days with data, for the status file ([] before they are read:
        no request is made here)."""
        return [{"serial": p.serial, "model": p.model, "first_day": _day(p, 0), "last_day": _day(p, 1)}
                for p in self._pumps or ()]

    @property
    def serial(self):
        return self.pump.serial

    def _now(self):
        if self.clock is not None:
            return dt.datetime.fromtimestamp(self.clock(), UTC)
        return dt.datetime.now(UTC)

    def poll(self):
        """The cheap marker of new uploads: when the pump in use logged its newest event (one
        request). Without PUMP_SERIAL_NUMBER that request reads every pump again, so a pump that
        starts having data (a replacement) is synced from then on."""
        if self.config.pump_serial:
            newest = self.api.newest_event_time(self.pump)
        else:
            listed = self.api.pumps()
            by_serial = {p.serial: p for p in listed}
            if self._pumps is None or _with_data(listed) != self._with_data or any(
                    p.serial not in by_serial for p in self._pumps):
                self._pumps = self.api.pumps_to_sync("", pumps=listed)
                self._log_pumps()
            else:                       # the same pumps: their fresh ranges, settings and newest events
                self._pumps = [by_serial[p.serial] for p in self._pumps]
            self._with_data = _with_data(listed)
            newest = self.pump.last_event
        return timeutil.iso_utc(newest) if newest else None

    def chunk(self, start, end, features, want_iob=False, window_end=None):
        """The ChunkResult of pump-local days [start, end] (see ``chunk_of``) of every synced pump
        with data on those days, concatenated; IOB and PROFILES are the pump in use's."""
        pumps = self.pumps
        current = pumps[-1]
        asked = [p for p in pumps[:-1] if p.has_data_for(start, end)]
        if current.has_data_for(start, end, open_ended=True) or not asked:
            asked.append(current)
        results = []
        for pump in asked:
            mine = pump is current
            results.append(self.chunk_of(pump, start, end, features if mine else _without(features, "PROFILES"),
                                         want_iob=want_iob and mine, window_end=window_end))
        if "PROFILES" in features and current not in asked:
            results.append(source_documents([], ("PROFILES",), current.serial, self.tz, now=self._now(),
                                            pump_settings=self._settings(current),
                                            profile_upload_mode=self.config.profile_upload_mode))
        return results[0] if len(results) == 1 else merge_results(results)

    def _settings(self, pump):
        return pump.settings if getattr(pump, "settings", None) else self.api.pumper()

    def chunk_of(self, pump, start, end, features, want_iob=False, window_end=None):
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
            settings = self._settings(pump)
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


def _with_data(pumps):
    return frozenset(p.serial for p in pumps if p.data_range is not None)


def _day(pump, index):
    day = pump.data_range[index] if pump.data_range else None
    return day.isoformat() if day else None


def _without(features, name):
    return tuple(f for f in features if f != name)


def merge_results(results):
    """One ChunkResult of several pumps' results for the same days: lists concatenated, counts
    added; ``iob`` and ``profiles`` from the one result that has them (the pump in use's)."""
    out = ChunkResult()
    for r in results:
        out.treatments += r.treatments
        out.spanning += r.spanning
        out.warnings += r.warnings
        out.open_at_end = out.open_at_end or r.open_at_end
        out.entries += r.entries
        for feature, n in r.fetched.items():
            out.fetched[feature] = out.fetched.get(feature, 0) + n
        for feature, n in r.merged.items():
            out.merged[feature] = out.merged.get(feature, 0) + n
        for code, n in r.ignored.items():
            out.ignored[code] = out.ignored.get(code, 0) + n
        for feature, reasons in r.skipped.items():
            out.skipped.setdefault(feature, []).extend(reasons)
        for feature, warnings in r.warnings_by_feature.items():
            out.warnings_by_feature.setdefault(feature, []).extend(warnings)
        out.iob = r.iob if r.iob is not None else out.iob
        out.profiles = r.profiles if r.profiles is not None else out.profiles
    return out


def _joined(events, more):
    """``events`` and ``more`` (raw pump-log events) without repeats (same sequence group and number)."""
    seen = {(e.get("sequenceGroup") or 0, e.get("sequenceNumber")) for e in events}
    return events + [e for e in more if (e.get("sequenceGroup") or 0, e.get("sequenceNumber")) not in seen]
