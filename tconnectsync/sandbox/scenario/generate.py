"""How the scenario plans one period of pump history (delivery, suspensions, activities,
boluses) from its seeded random generator. Mixed into ``Scenario``."""
import bisect
import datetime as dt
import random

from ..history import Plan, PlannedBolus
from .therapy import CF, CR, DIA_S, TARGET

DAY = dt.timedelta(days=1)


class Generation:
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
        plan = Plan(p=p, start=ps, end=pe)
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
