"""Synthetic pump history for the simulated Tandem cloud (tests, ``--demo``, benchmarks).

The history is cut into *periods*: per pump-local date a night (20:00 of the day before to 08:00)
and a day (08:00 to 20:00). Each period is generated on its own from a random generator seeded by
(seed, date, part), so any day can be produced without producing the days before it and a long
scenario costs memory only for the few periods in use. Basal delivery, suspensions and activities
never cross a period boundary; midnight lies inside a night, so they cross midnight naturally.

Inside, instants are UTC Unix seconds (ints). ``window()`` gives the server everything a date
window holds (segments already cut at each pump-local midnight and at the cutoff); ``wall`` and
``pseudo_epoch`` encode instants the way Tandem does. The truth accessors give the same history
as aware UTC datetimes, as the sandbox's own records (``sandbox/history.py``).

``cutoff`` is the last pump upload: nothing after it exists, and what is running at it is
reported as running (segment duration so far, extended bolus without completion, suspension with
no following segment). Moving the cutoff never changes the history itself.
"""
import bisect
import datetime as dt
import functools
import math
import random
import threading

from .. import clock
from ..history import WindowData
from .generate import Generation
from .therapy import CGM_OFFSET_S, DEFAULT_PROFILE, IOB_OFFSET_S, PATIENT_DOB, PATIENT_NAME
from .truth import Truth

UTC = dt.timezone.utc
DAY = dt.timedelta(days=1)
_EPOCH = dt.datetime(1970, 1, 1)


def _parse_profile(profile):
    out = []
    for hhmm, rate in profile:
        h, m = hhmm.split(":")
        out.append((int(h) * 3600 + int(m) * 60, float(rate)))
    out.sort()
    if out[0][0] != 0:
        raise ValueError("a basal profile must start at 00:00")
    return tuple(out)

class Scenario(Generation, Truth):
    def __init__(self, start, end, tz_name="America/New_York", seed=1, serial="11111111",
                 control_iq_since=dt.date(2020, 1, 21), cutoff=None, boluses_per_day=10,
                 profile=DEFAULT_PROFILE, index_base=250000, request_id_base=5000, silences=()):
        if end < start:
            raise ValueError("end date %s is before start date %s" % (end, start))
        self.start = start
        self.end = end
        self.tz_name = tz_name
        self.tz = clock.zone(tz_name)
        self.seed = seed
        self.serial = str(serial)
        self.control_iq_since = control_iq_since
        self.boluses_per_day = boluses_per_day
        self.profile = _parse_profile(profile)
        self.index_base = index_base
        self.request_id_base = request_id_base
        self.patient_name = PATIENT_NAME
        self.patient_dob = PATIENT_DOB
        self.ndays = (end - start).days + 1
        self.n_periods = 2 * self.ndays + 1
        self._local_ts = functools.lru_cache(maxsize=16384)(self._localize)
        self.span_start = self._local_ts(start, 0)
        self.span_end = self._local_ts(end + DAY, 0)
        self._build_offsets(self.span_start - 3 * 86400, self.span_end + 3 * 86400)
        # period p: even = night ending on start + p//2, odd = the day part of that date
        self._period_starts = [max(self._raw_bounds(p)[0], self.span_start) for p in range(self.n_periods)]
        phase = random.Random("tconnectsync-sandbox/%s/glucose" % seed)
        self._phases = (phase.uniform(0, 6.28), phase.uniform(0, 6.28), phase.uniform(0, 6.28))
        self._lock = threading.RLock()
        self._prefix_events = [0]
        self._prefix_req = [0]
        self._plan = functools.lru_cache(maxsize=160)(self._make_plan)
        self._period = functools.lru_cache(maxsize=48)(self._materialize)
        self._bumps = functools.lru_cache(maxsize=256)(self._make_bumps)
        self._cutoff = None
        self.set_cutoff(cutoff)
        # (start, end) aware instants when the pump logged nothing: the Tandem Source sandbox
        # serves no event in them (a record open at their start stays open across them).
        self.silences = tuple((int(a.timestamp()), int(b.timestamp())) for a, b in silences)

    def silent(self, ts):
        """True when UTC seconds ``ts`` fall in one of the scenario's silences."""
        return any(a <= ts < b for a, b in self.silences)

    # ------------------------------------------------------------------ time helpers

    def _localize(self, date, sod, second=False):
        """UTC seconds of pump wall time ``date`` + ``sod`` seconds (cached as ``_local_ts``)."""
        naive = dt.datetime.combine(date, dt.time()) + dt.timedelta(seconds=sod)
        return clock.utc_seconds(naive, self.tz, second=second)

    def _offset_at(self, ts):
        return clock.offset_s(ts, self.tz)

    def _build_offsets(self, lo, hi):
        """The zone's UTC offsets over [lo, hi) as transition instants, so that ``wall`` is a
        bisect instead of a zone lookup (it runs for every record rendered)."""
        self._trans, self._offs = [lo], [self._offset_at(lo)]
        t = lo
        while t < hi:
            n = t + 3 * 3600
            o = self._offset_at(n)
            if o != self._offs[-1]:
                a, b = t, n
                while b - a > 1:
                    m = (a + b) // 2
                    if self._offset_at(m) == self._offs[-1]:
                        a = m
                    else:
                        b = m
                self._trans.append(b)
                self._offs.append(o)
            t = n
        self._offsets_hi = hi

    def wall(self, ts):
        """(naive pump wall-clock time, second occurrence of a repeated hour?) for UTC ``ts``."""
        if not self._trans[0] <= ts < self._offsets_hi:
            return clock.wall_of(ts, self.tz)
        i = bisect.bisect_right(self._trans, ts) - 1
        off = self._offs[i]
        second = i > 0 and self._offs[i - 1] > off and ts < self._trans[i] + (self._offs[i - 1] - off)
        return _EPOCH + dt.timedelta(seconds=ts + off), second

    def wall_str(self, ts):
        return self.wall(ts)[0].strftime("%Y-%m-%dT%H:%M:%S")

    def pseudo_epoch(self, ts):
        """The Control:IQ ``x`` of UTC ``ts`` (docs/tconnect.md §2)."""
        naive, second = self.wall(ts)
        return clock.pseudo_epoch(naive, second=second)

    def day_bounds(self, date):
        return self._local_ts(date, 0), self._local_ts(date + DAY, 0)

    def _profile_rate(self, ts):
        naive = self.wall(ts)[0]
        sod = naive.hour * 3600 + naive.minute * 60 + naive.second
        rate = self.profile[0][1]
        for start, r in self.profile:
            if sod >= start:
                rate = r
        return rate

    def is_ciq_day(self, date):
        return self.control_iq_since is not None and date >= self.control_iq_since

    # ------------------------------------------------------------------ cutoff

    @property
    def cutoff(self):
        """The last pump upload as an aware UTC datetime (None: everything up to ``end``)."""
        return self._cutoff

    def set_cutoff(self, instant):
        if instant is not None and instant.tzinfo is None:
            raise ValueError("cutoff must be an aware datetime")
        self._cutoff = None if instant is None else instant.astimezone(UTC)

    def _cutoff_ts(self):
        c = self._cutoff
        return self.span_end if c is None else int(math.floor(c.timestamp()))

    # ------------------------------------------------------------------ periods

    def _raw_bounds(self, p):
        k, part = divmod(p, 2)
        d = self.start + dt.timedelta(days=k)
        if part == 0:
            return self._local_ts(d - DAY, 20 * 3600), self._local_ts(d, 8 * 3600), d, "night"
        return self._local_ts(d, 8 * 3600), self._local_ts(d, 20 * 3600), d, "day"

    def _bounds(self, p):
        a, b, d, part = self._raw_bounds(p)
        return max(a, self.span_start), min(b, self.span_end), d, part

    def _period_of(self, ts):
        return bisect.bisect_right(self._period_starts, ts) - 1

    def _make_bumps(self, p):
        """Glucose excursions of period ``p``: (centre, amplitude mg/dL, width s)."""
        if p < 0 or p >= self.n_periods:
            return ()
        _, _, d, part = self._raw_bounds(p)
        rng = random.Random("tconnectsync-sandbox/%s/%s/%s/bumps" % (self.seed, d.isoformat(), part))
        out = []
        if part == "night":
            out.append((self._local_ts(d, 7 * 3600) + rng.randint(-2400, 2400), rng.randint(35, 80),
                        rng.randint(35, 55) * 60))
            if rng.random() < 0.3:
                out.append((self._local_ts(d - DAY, 21 * 3600 + 1800) + rng.randint(-1800, 1800),
                            rng.randint(20, 40), rng.randint(30, 45) * 60))
            if rng.random() < 0.5:
                out.append((self._local_ts(d, 2 * 3600) + rng.randint(0, 3 * 3600), -rng.randint(25, 55),
                            rng.randint(30, 45) * 60))
        else:
            out.append((self._local_ts(d, 12 * 3600 + 1800) + rng.randint(-3600, 3600), rng.randint(35, 80),
                        rng.randint(35, 55) * 60))
            out.append((self._local_ts(d, 18 * 3600 + 2700) + rng.randint(-2700, 1800), rng.randint(40, 85),
                        rng.randint(35, 60) * 60))
            if rng.random() < 0.3:
                out.append((self._local_ts(d, 15 * 3600) + rng.randint(-3600, 3600), rng.randint(30, 60),
                            rng.randint(30, 50) * 60))
        return tuple(sorted(out))

    def glucose(self, ts):
        """The CGM value (mg/dL) at UTC ``ts``: a smooth base plus the periods' excursions."""
        m = ts / 60.0
        a, b, c = self._phases
        v = 125 + 14 * math.sin(m / 173.0 + a) + 8 * math.sin(m / 41.0 + b) + 3 * math.sin(m / 11.0 + c)
        p = self._period_of(ts)
        for q in (p - 1, p, p + 1):
            for centre, amp, width in self._bumps(q):
                x = (ts - centre) / width
                if -4 < x < 4:
                    v += amp * math.exp(-x * x)
        return int(round(min(max(v, 40), 400)))

    def _cgm_grid_from(self, ts):
        """The first CGM reading instant >= ts."""
        base = self.span_start + CGM_OFFSET_S
        if ts <= base:
            return base
        return base + -(-(ts - base) // 300) * 300

    def cgm_before(self, ts):
        base = self.span_start + CGM_OFFSET_S
        if ts < base:
            return self.glucose(ts)
        return self.glucose(base + (ts - base) // 300 * 300)

    # ------------------------------------------------------------------ generation


    def _event_index(self, p, ts):
        events_before, _ = self._prefix(p)
        return self.index_base + events_before + bisect.bisect_right(self._plan(p).events, ts)

    # ------------------------------------------------------------------ windows

    def _day_periods(self, date):
        k = (date - self.start).days
        return [q for q in (2 * k, 2 * k + 1, 2 * k + 2) if 0 <= q < self.n_periods]

    def _in_span(self, date):
        return self.start <= date <= self.end

    def has_ciq_data(self, start_date, end_date):
        """True if Control:IQ has anything for the window (else Tandem answers 404)."""
        cutoff = self._cutoff_ts()
        d = start_date
        while d <= end_date:
            if self._in_span(d) and self.is_ciq_day(d) and self.day_bounds(d)[0] < cutoff:
                return True
            d += DAY
        return False

    def window(self, start_date, end_date):
        cutoff = self._cutoff_ts()
        last = min(cutoff, self.day_bounds(end_date)[1] if end_date <= self.end else self.span_end)
        w = WindowData(start_date=start_date, end_date=end_date, cutoff=cutoff,
                       report_time=max(last, self.span_start) + 312, ciq_days=[], segments=[],
                       ciq_suspensions=[], activities=[], readings=[], iob=[], csv_basal=[],
                       ws2_events=[], boluses=[], bg_events=[])
        basal_pieces = []
        d = start_date
        while d <= end_date:
            if self._in_span(d):
                self._add_day(w, d, cutoff, basal_pieces)
            d += DAY
        for name in ("segments", "ciq_suspensions", "activities", "readings", "iob", "ws2_events", "bg_events"):
            getattr(w, name).sort(key=lambda r: r[0])
        w.boluses.sort(key=lambda b: b.req)
        basal_pieces.sort()
        prev = None
        for s, e, rate in basal_pieces:
            if prev is None or s != prev[1] or rate != prev[2]:
                w.csv_basal.append((s, rate))
            prev = (s, e, rate)
        return w

    def _day_segments(self, date, cutoff):
        ds, de = self.day_bounds(date)
        lim = min(de, cutoff)
        out = []
        for q in self._day_periods(date):
            for s, e, kind, rate in self._plan(q).segments:
                a, b = max(s, ds), min(e, lim)
                if a < b:
                    out.append((a, b - a, rate, kind))
        out.sort()
        return out

    def _add_day(self, w, date, cutoff, basal_pieces):
        ds, de = self.day_bounds(date)
        if ds >= cutoff:
            return
        lim = min(de, cutoff)
        ciq = self.is_ciq_day(date)
        if ciq:
            w.ciq_days.append(date)
        w.covered_s += lim - ds
        k = (date - self.start).days
        deliveries = self._deliveries(range(2 * k - 2, 2 * k + 3))
        segments = self._day_segments(date, cutoff)
        if ciq:
            w.segments.extend(segments)
        else:
            basal_pieces.extend((s, s + dur, rate) for s, dur, rate, _ in segments)
        for q in self._day_periods(date):
            plan = self._period(q)
            for s, e, reason in plan.suspensions:
                if ds <= s < de and s <= cutoff:
                    start, continuation = s, False
                elif s < ds < e:
                    start, continuation = ds, True
                    w.ws2_events.append((ds, "previous", True))
                else:
                    continue
                w.suspended_s += max(0, min(e, lim) - start)
                if ciq:
                    w.ciq_suspensions.append((start, reason, continuation))
                else:
                    basal_pieces.append((start, min(e, lim), 0.0))
            for s, e in plan.ciq_zero:
                if ciq and ds <= s < de and s <= cutoff:
                    w.ciq_suspensions.append((s, "control-iq", False))
                elif ciq and s < ds < e:
                    w.ciq_suspensions.append((ds, "control-iq", True))
            for s, e, etype in plan.activities:
                if ds <= s < de and s < cutoff:
                    w.activities.append((s, min(e, cutoff) - s, etype, False))
                    w.exercises += etype == 2
                elif s < ds < e:
                    w.activities.append((ds, min(e, cutoff) - ds, etype, True))
                if etype == 1:
                    w.sleep_s += max(0, min(e, lim) - max(s, ds))
            for t, reason in plan.ws2:
                if ds <= t < de and t <= cutoff:
                    w.ws2_events.append((t, reason, False))
            for b in plan.boluses:
                if ds <= b.req < de and b.completion <= cutoff:
                    w.boluses.append(b)
            for t, value in plan.finger:
                if ds <= t < de and t <= cutoff:
                    w.readings.append((t, "BG", value))
                    w.bg_events.append((t, value, self._iob_at(deliveries, t), self._event_index(q, t)))
        for t in range(self._cgm_grid_from(ds), de, 300):
            if t > cutoff:
                break
            w.readings.append((t, "EGV", self.glucose(t)))
        # IOB: every 5 minutes, plus a row 2 s after each bolus that delivered insulin
        rows = []
        for t in range(ds + (self.span_start + IOB_OFFSET_S - ds) % 300, de, 300):
            if t > cutoff:
                break
            rows.append((t, 81))
        for q in range(max(0, 2 * k - 1), min(self.n_periods, 2 * k + 3)):
            for b in self._plan(q).boluses:
                t = b.completion + 2
                if b.delivered > 0 and ds <= t < de and t <= cutoff:
                    rows.append((t, 9))
        for t, eid in rows:
            w.iob.append((t, eid, self._iob_at(deliveries, t)))

    # ------------------------------------------------------------------ truth



def make_scenario(start, end, tz_name="America/New_York", seed=1, serial="11111111",
                  control_iq_since=dt.date(2020, 1, 21), cutoff=None, boluses_per_day=10, **kwargs):
    """A ``Scenario`` of every pump-local day in [start, end] (dates, inclusive)."""
    if isinstance(start, str):
        start = dt.date.fromisoformat(start)
    if isinstance(end, str):
        end = dt.date.fromisoformat(end)
    return Scenario(start, end, tz_name=tz_name, seed=seed, serial=serial, control_iq_since=control_iq_since,
                    cutoff=cutoff, boluses_per_day=boluses_per_day, **kwargs)
