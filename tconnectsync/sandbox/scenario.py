"""Synthetic pump history for the simulated Tandem cloud (tests, ``--demo``, benchmarks).

The history is cut into *periods*: per pump-local date a night (20:00 of the day before to 08:00)
and a day (08:00 to 20:00). Each period is generated on its own from a random generator seeded by
(seed, date, part), so any day can be produced without producing the days before it and a long
scenario costs memory only for the few periods in use. Basal delivery, suspensions and activities
never cross a period boundary; midnight lies inside a night, so they cross midnight naturally.

Inside, instants are UTC Unix seconds (ints). ``window()`` gives the server everything a date
window holds (segments already cut at each pump-local midnight and at the cutoff); ``wall`` and
``pseudo_epoch`` encode instants the way Tandem does. The truth accessors give the same history
as aware UTC datetimes, mostly as the typed records of ``parser/records.py``.

``cutoff`` is the last pump upload: nothing after it exists, and what is running at it is
reported as running (segment duration so far, extended bolus without completion, suspension with
no following segment). Moving the cutoff never changes the history itself.
"""
import bisect
import dataclasses
import datetime as dt
import functools
import math
import random
import threading
from typing import Optional

from tconnectsync import timeutil
from tconnectsync.parser import records

UTC = dt.timezone.utc
DAY = dt.timedelta(days=1)
_EPOCH = dt.datetime(1970, 1, 1)

DEFAULT_PROFILE = (("00:00", 0.80), ("06:00", 1.10), ("11:00", 0.95), ("17:00", 1.00), ("22:00", 0.85))
CF = 40              # correction factor, mg/dL per unit
CR = 8               # carb ratio, g per unit
TARGET = 110         # mg/dL, manual boluses
AUTO_TARGET = 160    # mg/dL, as written on Control-IQ automatic boluses
DIA_S = 5 * 3600     # insulin duration for the IOB model
CGM_OFFSET_S = 153   # readings at hh:m2:33 / hh:m7:33 like the fixtures
IOB_OFFSET_S = 19
ACTIVITY_NAMES = {1: "Sleep", 2: "Exercise", 3: "AutoBolus", 4: "CarbOnly"}
PATIENT_NAME = "Alex Sample"
PATIENT_DOB = dt.date(1990, 1, 1)


def _utc(ts):
    return dt.datetime.fromtimestamp(ts, UTC)


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
class _Plan:
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
    segments: list                  # records.BasalSegment, cut at pump-local midnights and the cutoff
    suspensions: list               # TruthSuspension


def _parse_profile(profile):
    out = []
    for hhmm, rate in profile:
        h, m = hhmm.split(":")
        out.append((int(h) * 3600 + int(m) * 60, float(rate)))
    out.sort()
    if out[0][0] != 0:
        raise ValueError("a basal profile must start at 00:00")
    return tuple(out)


class Scenario:
    def __init__(self, start, end, tz_name="America/New_York", seed=1, serial="11111111",
                 control_iq_since=dt.date(2020, 1, 21), cutoff=None, boluses_per_day=10,
                 profile=DEFAULT_PROFILE, index_base=250000, request_id_base=5000):
        if end < start:
            raise ValueError("end date %s is before start date %s" % (end, start))
        self.start = start
        self.end = end
        self.tz_name = tz_name
        self.tz = timeutil.get_zone(tz_name)
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

    # ------------------------------------------------------------------ time helpers

    def _localize(self, date, sod, second=False):
        """UTC seconds of pump wall time ``date`` + ``sod`` seconds (cached as ``_local_ts``)."""
        naive = dt.datetime.combine(date, dt.time()) + dt.timedelta(seconds=sod)
        return int(timeutil.localize(naive, self.tz, second=second).timestamp())

    def _offset_at(self, ts):
        return int(dt.datetime.fromtimestamp(ts, self.tz).utcoffset().total_seconds())

    def _build_offsets(self, lo, hi):
        """The zone's UTC offsets over [lo, hi) as transition instants, so that ``wall`` is a
        bisect instead of a pytz call (it runs for every record rendered)."""
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
            aware = dt.datetime.fromtimestamp(ts, self.tz)
            naive = aware.replace(tzinfo=None)
            second = timeutil.is_ambiguous(naive, self.tz) and int(
                timeutil.localize(naive, self.tz).timestamp()) != ts
            return naive, second
        i = bisect.bisect_right(self._trans, ts) - 1
        off = self._offs[i]
        second = i > 0 and self._offs[i - 1] > off and ts < self._trans[i] + (self._offs[i - 1] - off)
        return _EPOCH + dt.timedelta(seconds=ts + off), second

    def wall_str(self, ts):
        return self.wall(ts)[0].strftime("%Y-%m-%dT%H:%M:%S")

    def pseudo_epoch(self, ts):
        """The Control:IQ ``x`` of UTC ``ts`` (docs/tconnect.md §2)."""
        naive, second = self.wall(ts)
        return timeutil.encode_pseudo_epoch(naive, second=second)

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

    def _profile_pieces(self, a, b):
        """Profile delivery over [a, b), split where the profile's time slot changes."""
        if b <= a:
            return []
        cuts = set()
        day = self.wall(a)[0].date()
        last = self.wall(b - 1)[0].date()
        while day <= last:
            for sod, _ in self.profile:
                for second in (False, True):
                    t = self._local_ts(day, sod, second)
                    if a < t < b:
                        cuts.add(t)
            day += DAY
        bounds = [a] + sorted(cuts) + [b]
        out = []
        for s, e in zip(bounds, bounds[1:]):
            rate = self._profile_rate(s)
            if out and out[-1][3] == rate:
                out[-1] = (out[-1][0], e, "profile", rate)
            else:
                out.append((s, e, "profile", rate))
        return out

    def _fill(self, plan, rng, a, b, ciq, runs):
        """Fill [a, b) with delivery: Control-IQ alternates short profile stretches and runs of
        300 s algorithm segments (most of the time); without Control-IQ the profile runs."""
        if not ciq:
            plan.segments.extend(self._profile_pieces(a, b))
            return
        t = a
        while b - t >= 300:
            if rng.random() >= 0.6:
                g_end = min(t + rng.randint(120, 1800), b)
                plan.segments.extend(self._profile_pieces(t, g_end))
                t = g_end
                if b - t < 300:
                    break
            n = min(rng.randint(6, 48), (b - t) // 300)
            run = []
            for i in range(n):
                s = t + 300 * i
                factor = 1 + (self.glucose(s) - 130) / 90.0
                rate = self._profile_rate(s) * factor + rng.uniform(-0.04, 0.04)
                run.append(len(plan.segments))
                plan.segments.append((s, s + 300, "algorithm", round(min(3.0, max(0.05, rate)), 2)))
            runs.append(run)
            t += 300 * n
        if t < b:
            plan.segments.extend(self._profile_pieces(t, b))

    def _make_plan(self, p):
        ps, pe, d, part = self._bounds(p)
        plan = _Plan(p=p, start=ps, end=pe)
        if p < 0 or p >= self.n_periods or ps >= pe:
            return plan
        rng = random.Random("tconnectsync-sandbox/%s/%s/%s" % (self.seed, d.isoformat(), part))
        night = part == "night"
        mid = self._local_ts(d, 0)
        ciq_before = self.is_ciq_day(d - DAY) if night else self.is_ciq_day(d)
        ciq_after = self.is_ciq_day(d)

        def ciq_at(t):
            return ciq_after if (not night or t >= mid) else ciq_before

        fixed = []      # (start, end, kind, data)

        def place(s, e, kind, data):
            if s < ps + 60 or e > pe - 60:
                return False
            if any(s < fe + 600 and fs < e + 600 for fs, fe, _, _ in fixed):
                return False
            fixed.append((s, e, kind, data))
            return True

        # site / cartridge change every third day, sometimes after an empty-cartridge alarm
        terminated_at = None
        if not night and (d.toordinal() + self.seed) % 3 == 0:
            s = self._local_ts(d, 10 * 3600) + rng.randint(0, 7 * 3600)
            if rng.random() < 0.34:
                dur = rng.randint(35 * 60, 60 * 60)
                tubing, cannula = s + dur - rng.randint(14 * 60, 18 * 60), s + dur - rng.randint(4 * 60, 7 * 60)
                if place(s, s + dur, "susp", "alarm"):
                    plan.ws2 += [(s, "alarm"), (tubing, "site-cart"), (cannula, "site-cart")]
                    terminated_at = s
            else:
                dur = rng.randint(12 * 60, 25 * 60)
                cannula = s + dur - rng.randint(30, 90)
                if place(s, s + dur, "susp", "site-cart"):
                    plan.ws2 += [(s + dur // 2, "site-cart"), (cannula, "site-cart")]
        # manual suspension: late in the evening (often across midnight) or during the day
        if night:
            if rng.random() < 0.2:
                s = self._local_ts(d - DAY, 23 * 3600 + 300) + rng.randint(0, 50 * 60)
                if place(s, s + rng.randint(20 * 60, 75 * 60), "susp", "manual"):
                    plan.ws2.append((s, "manual"))
        elif rng.random() < 0.15:
            s = ps + rng.randint(30 * 60, 11 * 3600)
            if place(s, s + rng.randint(10 * 60, 50 * 60), "susp", "manual"):
                plan.ws2.append((s, "manual"))
        # temp rate, sometimes 0 u/h (ws2 "temp-profile")
        if rng.random() < 0.22:
            s = ps + 60 * rng.randint(60, 600)
            dur = 60 * rng.choice([30, 45, 60, 90, 120])
            zero = rng.random() < 0.3
            factor = rng.choice([0.5, 0.7, 1.2, 1.5])
            rate = 0.0 if zero else round(self._profile_rate(s) * factor, 2)
            if place(s, s + dur, "temp", rate) and zero:
                plan.ws2.append((s, "temp-profile"))
        if not night and rng.random() < 0.1:
            t = ps + rng.randint(3600, 11 * 3600)
            if not any(fs <= t < fe for fs, fe, _, _ in fixed):
                plan.ws2.append((t, "basal-profile"))

        # delivery between the fixed items
        fixed.sort()
        runs = []
        t = ps
        for s, e, kind, data in fixed + [(pe, pe, None, None)]:
            bounds = [t] + ([mid] if night and ciq_before != ciq_after and t < mid < s else []) + [s]
            for a, b in zip(bounds, bounds[1:]):
                self._fill(plan, rng, a, b, ciq_at(a), runs)
            if kind == "susp":
                plan.suspensions.append((s, e, data))
            elif kind == "temp":
                plan.segments.append((s, e, "temp", data))
            t = e
        # a Control-IQ suspension (predicted low): one algorithm segment at 0 u/h
        if runs and rng.random() < (0.6 if night else 0.2):
            candidates = [r for r in runs if len(r) >= 8]
            if candidates:
                run = rng.choice(candidates)
                k = rng.randint(3, min(9, len(run) - 2))
                i0 = rng.randint(1, len(run) - k - 1)
                idxs = run[i0:i0 + k]
                s, e = plan.segments[idxs[0]][0], plan.segments[idxs[-1]][1]
                drop = set(idxs)
                plan.segments = [seg for i, seg in enumerate(plan.segments) if i not in drop]
                plan.segments.append((s, e, "algorithm", 0.0))
                plan.ciq_zero.append((s, e))
        plan.segments.sort()

        # Control-IQ activities
        if night and ciq_before and ciq_after:
            s = self._local_ts(d - DAY, 22 * 3600) + rng.randint(15 * 60, 165 * 60)
            e = self._local_ts(d, 6 * 3600) + rng.randint(0, 90 * 60)
            if ps <= s and e <= pe:
                plan.activities.append((s, e, 1))
        if not night and ciq_after and rng.random() < 0.35:
            s = self._local_ts(d, 10 * 3600) + 60 * rng.randint(0, 420)
            e = s + 300 * rng.randint(6, 15)
            if e <= pe:
                plan.activities.append((s, e, 2))

        self._plan_boluses(plan, rng, p, ciq_at, terminated_at)

        # pump events, for the event index
        ev = list(range(self._cgm_grid_from(ps), pe, 300))
        ev += [t for t, _ in plan.finger]
        for b in plan.boluses:
            ev += [b.req, b.completion] + ([b.ext_end] if b.extended else [])
        ev += [seg[0] for seg in plan.segments]
        for s, e, _ in plan.suspensions:
            ev += [s, e]
        for s, e, _ in plan.activities:
            ev += [s, e]
        ev += [t for t, reason in plan.ws2 if reason in ("site-cart", "basal-profile")]
        plan.events = sorted(ev)
        return plan

    def _plan_boluses(self, plan, rng, p, ciq_at, terminated_at):
        ps, pe = plan.start, plan.end
        bpd = self.boluses_per_day
        k = 0 if bpd <= 0 else max(0, int(round(bpd / 2.0 + rng.uniform(-1.5, 1.5))))
        blocked = [(s - 120, e + 120) for s, e, _ in plan.suspensions] + [(s - 60, e + 60) for s, e in plan.ciq_zero]
        times = []

        def free(t):
            return (ps + 120 <= t <= pe - 600 and not any(a <= t <= b for a, b in blocked)
                    and all(abs(t - u) >= 480 for u, _ in times))

        for centre, amp, _ in self._bumps(p):
            t = centre - rng.randint(20 * 60, 45 * 60)
            if amp > 0 and len(times) < k and free(t):
                times.append((t, "meal"))
        tries = 0
        while len(times) < k and tries < 60 and pe - ps > 900:
            t = rng.randint(ps + 120, pe - 600)
            if free(t):
                times.append((t, "extra"))
            tries += 1
        if terminated_at is not None and bpd > 0:
            times.append((terminated_at - rng.randint(40, 80), "terminated"))
        times.sort()
        ext_wanted = rng.random() < 0.18
        for t, role in times:
            cgm = self.cgm_before(t)
            bg, source = cgm, "cgm"
            if role == "meal":
                kind = "stdcorr" if cgm >= 150 else rng.choice(["std", "stdcorr"])
                minutes = rng.choice([60, 90, 120])
                if ext_wanted and not any(t - 600 <= s <= t + (minutes + 10) * 60 for s, _, _ in plan.suspensions):
                    kind, ext_wanted = "ext", False
                carbs = rng.randint(20, 80)
            elif role == "terminated":
                kind, carbs = "std", rng.randint(15, 40)
            elif ciq_at(t) and (cgm >= 150 or rng.random() < 0.4):
                kind, carbs = "auto", 0
            else:
                kind = rng.choice(["std", "stdcorr"])
                carbs = rng.randint(5, 30)
            if kind == "stdcorr" and rng.random() < 0.25:
                bg, source = max(40, cgm + rng.randint(-10, 12)), "finger"
                plan.finger.append((t - rng.randint(15, 60), bg))
            if kind == "auto":
                food, corr = 0.0, round(min(3.0, max(0.15, (cgm - TARGET) / CF * 0.6)), 2)
            else:
                food = round(carbs / float(CR), 2)
                corr = round(max(0.0, (bg - TARGET) / float(CF)), 2) if kind == "stdcorr" else 0.0
            calc = round(food + corr, 2)
            b = PlannedBolus(req=t, completion=0, kind=kind, carbs=carbs, bg=bg, bg_source=source,
                             food=food, corr=corr, requested=calc, calc_total=calc, delivered=calc)
            if kind in ("std", "stdcorr") and role != "terminated" and rng.random() < 0.05:
                b.override = True
                b.requested = round(max(0.1, calc + rng.choice([-1.0, -0.5, 0.5, 1.0])), 2)
                b.delivered = b.requested
            if kind == "ext":
                b.ext_percent, b.ext_minutes = 50, minutes
                b.delivered = round(b.requested * b.ext_percent / 100.0, 2)
                b.ext_size = round(b.requested - b.delivered, 2)
            if role == "terminated":
                b.status_id, b.status = 1, "Terminated by Alarm"
                b.delivered = round(b.requested * rng.uniform(0.3, 0.7), 2)
                b.completion = terminated_at
            elif kind in ("std", "stdcorr") and rng.random() < 0.04:
                b.status_id, b.status = 0, "User Aborted"
                b.delivered = 0.0
                b.completion = t + rng.randint(4, 20)
            else:
                b.completion = t + 55 + int(b.delivered * 12) + rng.randint(0, 25)
            if kind == "ext":
                b.ext_start = b.completion
                b.ext_end = b.completion + b.ext_minutes * 60
            b.req_offset = plan.req_span
            plan.req_span += 1 + rng.randint(0, 2)
            plan.boluses.append(b)

    def _prefix(self, p):
        """(pump events, BolusRequestIDs) used by the periods before ``p``."""
        p = max(0, min(p, self.n_periods))
        with self._lock:
            while len(self._prefix_events) <= p:
                plan = self._plan(len(self._prefix_events) - 1)
                self._prefix_events.append(self._prefix_events[-1] + len(plan.events))
                self._prefix_req.append(self._prefix_req[-1] + plan.req_span)
            return self._prefix_events[p], self._prefix_req[p]

    def _deliveries(self, periods):
        out = []
        for q in periods:
            if 0 <= q < self.n_periods:
                for b in self._plan(q).boluses:
                    out.extend(b.deliveries())
        out.sort()
        return out

    @staticmethod
    def _iob_at(deliveries, t):
        total = 0.0
        for when, units in deliveries:
            age = t - when
            if 0 <= age < DIA_S:
                total += units * (1.0 - age / float(DIA_S)) ** 1.6
        return round(total, 2)

    def _materialize(self, p):
        plan = self._plan(p)
        events_before, req_before = self._prefix(p)
        deliveries = self._deliveries(range(p - 2, p + 1))
        for b in plan.boluses:
            b.request_id = self.request_id_base + req_before + b.req_offset
            b.index_id = self.index_base + events_before + bisect.bisect_right(plan.events, b.completion)
            b.iob = self._iob_at(deliveries, b.req - 1)
            b.ext_iob = self._iob_at(deliveries, b.ext_end) if b.extended else 0.0
            b.source_rec_id = 1000000000 + b.index_id * 7
        return plan

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

    def _dates(self, start, end):
        start = self.start if start is None else max(start, self.start)
        end = self.end if end is None else min(end, self.end)
        d = start
        while d <= end:
            yield d
            d += DAY

    def _periods_for(self, start, end):
        ps = set()
        for d in self._dates(start, end):
            ps.update(self._day_periods(d))
        return sorted(ps)

    def truth_boluses(self, start=None, end=None):
        """Boluses whose standard part completed by the cutoff (request date in [start, end]),
        as ``records.Bolus`` with true UTC instants. A running extended part has no end,
        delivered amount or status yet."""
        cutoff = self._cutoff_ts()
        out = []
        for d in self._dates(start, end):
            ds, de = self.day_bounds(d)
            for q in self._day_periods(d):
                for b in self._period(q).boluses:
                    if ds <= b.req < de and b.completion <= cutoff:
                        out.append(self._bolus_record(b, cutoff))
        out.sort(key=lambda r: r.request_time)
        return out

    def _bolus_record(self, b, cutoff):
        done = b.ext_done(cutoff)
        return records.Bolus(
            request_id=str(b.request_id), request_time=_utc(b.req), description=bolus_description(b),
            options=bolus_texts(b)[2], automatic=b.kind == "auto", total_requested=b.requested,
            carbs=b.carbs, bg=b.bg, user_override=b.override, completion_time=_utc(b.completion),
            delivered=b.delivered, status=b.status, complete=b.status_id == 3, extended=b.extended,
            extended_requested=b.ext_size if b.extended else None,
            extended_start=_utc(b.ext_start) if b.extended else None,
            extended_end=_utc(b.ext_end) if done else None,
            extended_delivered=b.ext_size if done else None,
            extended_status=("Completed" if done else None) if b.extended else None,
            extended_complete=done if b.extended else None,
            duration_min=float(b.ext_minutes) if b.extended else None,
            standard_percent=float(b.ext_percent if b.extended else 100))

    def truth_basal(self, start=None, end=None, ciq_only=False):
        """Basal delivery as Control:IQ cuts it (at pump-local midnights and at the cutoff), on
        every day (``ciq_only``: only Control-IQ days), plus the suspensions."""
        cutoff = self._cutoff_ts()
        segments = []
        for d in self._dates(start, end):
            if ciq_only and not self.is_ciq_day(d):
                continue
            for s, dur, rate, kind in self._day_segments(d, cutoff):
                segments.append(records.BasalSegment(start=_utc(s), duration_s=float(dur), rate=rate, kind=kind))
        return TruthBasal(segments=segments, suspensions=self.truth_suspensions(start, end))

    def truth_suspensions(self, start=None, end=None):
        """Delivery suspensions that began by the cutoff (reason manual, site-cart, alarm or
        control-iq); ``end`` is None while still suspended."""
        cutoff = self._cutoff_ts()
        out = []
        lo, hi = self._span_for(start, end)
        for q in self._periods_for(start, end):
            plan = self._plan(q)
            items = [(s, e, r) for s, e, r in plan.suspensions] + [(s, e, "control-iq") for s, e in plan.ciq_zero]
            for s, e, reason in items:
                if lo <= s < hi and s <= cutoff:
                    out.append(TruthSuspension(_utc(s), _utc(e) if e <= cutoff else None, reason))
        out.sort(key=lambda r: r.start)
        return out

    def _span_for(self, start, end):
        lo = self.span_start if start is None else self.day_bounds(max(start, self.start))[0]
        hi = self.span_end if end is None else self.day_bounds(min(end, self.end))[1]
        return lo, hi

    def truth_site_changes(self, start=None, end=None):
        cutoff = self._cutoff_ts()
        lo, hi = self._span_for(start, end)
        out = []
        for q in self._periods_for(start, end):
            plan = self._plan(q)
            for s, e, reason in plan.suspensions:
                if reason not in ("site-cart", "alarm") or not (lo <= s < hi) or s > cutoff:
                    continue
                rows = sorted(t for t, r in plan.ws2 if r == "site-cart" and s <= t <= e)
                tubing = _utc(rows[0]) if rows and rows[0] <= cutoff else None
                cannula = _utc(rows[1]) if len(rows) > 1 and rows[1] <= cutoff else None
                out.append(TruthSiteChange(_utc(s), tubing, cannula, _utc(e) if e <= cutoff else None,
                                           reason == "alarm"))
        out.sort(key=lambda r: r.suspended_at)
        return out

    def truth_activities(self, start=None, end=None):
        """Sleep and exercise started by the cutoff, with their real duration so far."""
        cutoff = self._cutoff_ts()
        lo, hi = self._span_for(start, end)
        out = []
        for q in self._periods_for(start, end):
            for s, e, etype in self._plan(q).activities:
                if lo <= s < hi and s < cutoff:
                    out.append(records.Activity(start=_utc(s), duration_s=float(min(e, cutoff) - s),
                                                kind=ACTIVITY_NAMES[etype]))
        out.sort(key=lambda r: r.start)
        return out

    def truth_iob(self, start=None, end=None):
        out = []
        for d in self._dates(start, end):
            for t, _, value in self.window(d, d).iob:
                out.append(records.IobValue(time=_utc(t), iob=value))
        return out

    def truth_readings(self, start=None, end=None):
        out = []
        for d in self._dates(start, end):
            for t, kind, value in self.window(d, d).readings:
                out.append(records.Reading(time=_utc(t), value=value, kind=kind))
        return out

    def truth_pump_events(self, start=None, end=None):
        """The ws2 basalsuspension rows (without the 00:00 ``previous`` repeats)."""
        cutoff = self._cutoff_ts()
        lo, hi = self._span_for(start, end)
        out = []
        for q in self._periods_for(start, end):
            for t, reason in self._plan(q).ws2:
                if lo <= t < hi and t <= cutoff:
                    out.append(records.PumpEvent(time=_utc(t), reason=reason))
        out.sort(key=lambda r: r.time)
        return out

    def max_event_index(self):
        """The newest pump event index Tandem holds (what getlasteventuploaded answers)."""
        cutoff = self._cutoff_ts()
        if cutoff < self.span_start:
            return self.index_base
        if cutoff >= self.span_end:
            return self.index_base + self._prefix(self.n_periods)[0]
        return self._event_index(self._period_of(cutoff), cutoff)


def bolus_texts(b, html=False):
    """(Description, BolusType, BolusRequestOptions, EventHistoryReportEventDesc, details)."""
    if b.kind == "std":
        desc, btype, opts, ehr = "Standard", "Carb", "Standard", "Food Bolus"
    elif b.kind == "stdcorr":
        desc, btype, opts, ehr = "Standard/Correction", "Carb", "Standard/Correction", "Correction & Food Bolus"
    elif b.kind == "auto":
        desc, btype, opts, ehr = ("Automatic Bolus/Correction", "Automatic Correction",
                                  "Automatic Bolus/Correction", "Correction Bolus")
    else:
        pct = "&#37;" if html else "%"
        desc = "Extended %.2f%%/0.00" % b.ext_percent
        btype, opts = "Carb", "Extended"
        ehr = "Food Bolus: %d%s Extended %d mins" % (b.ext_percent, pct, b.ext_minutes)
    if b.kind == "auto":
        details = "CF 1:%d - Carb Ratio 1:0 - Target BG %d" % (CF, AUTO_TARGET)
    else:
        details = "CF 1:%d - Carb Ratio 1:%d - Target BG %d" % (CF, CR, TARGET)
    if b.override:
        details += "%sOverride: Pump calculated Bolus = %.1f units" % ("<br/>" if html else " | ", b.calc_total)
    return desc, btype, opts, ehr, details


def bolus_description(b):
    return bolus_texts(b)[0]


def make_scenario(start, end, tz_name="America/New_York", seed=1, serial="11111111",
                  control_iq_since=dt.date(2020, 1, 21), cutoff=None, boluses_per_day=10, **kwargs):
    """A ``Scenario`` of every pump-local day in [start, end] (dates, inclusive)."""
    if isinstance(start, str):
        start = dt.date.fromisoformat(start)
    if isinstance(end, str):
        end = dt.date.fromisoformat(end)
    return Scenario(start, end, tz_name=tz_name, seed=seed, serial=serial, control_iq_since=control_iq_since,
                    cutoff=cutoff, boluses_per_day=boluses_per_day, **kwargs)
