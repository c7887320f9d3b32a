"""The truth accessors of the scenario: its history as aware UTC records (``history``), for
tests to compare the product's output with. Mixed into ``Scenario``."""
import datetime as dt

from .. import clock
from ..history import Activity, BasalSegment, Bolus, IobValue, PumpEvent, Reading, TruthBasal, TruthSiteChange, \
    TruthSuspension
from .therapy import ACTIVITY_NAMES, bolus_description, bolus_texts

DAY = dt.timedelta(days=1)
_utc = clock.to_utc


class Truth:
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
        as ``history.Bolus`` with true UTC instants. A running extended part has no end,
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
        return Bolus(
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
                segments.append(BasalSegment(start=_utc(s), duration_s=float(dur), rate=rate, kind=kind))
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
                    out.append(Activity(start=_utc(s), duration_s=float(min(e, cutoff) - s),
                                                kind=ACTIVITY_NAMES[etype]))
        out.sort(key=lambda r: r.start)
        return out

    def truth_iob(self, start=None, end=None):
        out = []
        for d in self._dates(start, end):
            for t, _, value in self.window(d, d).iob:
                out.append(IobValue(time=_utc(t), iob=value))
        return out

    def truth_readings(self, start=None, end=None):
        out = []
        for d in self._dates(start, end):
            for t, kind, value in self.window(d, d).readings:
                out.append(Reading(time=_utc(t), value=value, kind=kind))
        return out

    def truth_pump_events(self, start=None, end=None):
        """The ws2 basalsuspension rows (without the 00:00 ``previous`` repeats)."""
        cutoff = self._cutoff_ts()
        lo, hi = self._span_for(start, end)
        out = []
        for q in self._periods_for(start, end):
            for t, reason in self._plan(q).ws2:
                if lo <= t < hi and t <= cutoff:
                    out.append(PumpEvent(time=_utc(t), reason=reason))
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

