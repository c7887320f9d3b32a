#!/usr/bin/env python3
"""
Regenerates every synthetic t:connect fixture in this folder.

Standard library only (Python 3.9+ for zoneinfo). All data is fictional:
pump serial 11111111, pump clock in America/New_York, patient "Alex Sample".

Run:  python3 generate_fixtures.py             (writes next to this file)
      python3 generate_fixtures.py --out DIR   (writes into DIR, e.g. to compare)

The generator first builds a "truth" timeline in real (UTC) time and then
renders it the way each Tandem endpoint encodes time:
  * naive pump wall-clock strings ("2021-10-20T07:42:10") for ws2 CSV and
    the therapy-events JSON,
  * "pseudo epochs" for the Control:IQ therapy timeline ("x"), i.e. the
    pump wall-clock time interpreted as if it were America/Los_Angeles,
  * the same pseudo epoch in milliseconds wrapped as /Date(ms-0000)/ for
    the ws2 JSONP endpoints.
See README.md and docs/tconnect.md for why.
"""
import argparse
import csv
import datetime as dt
import io
import json
import math
import os
from zoneinfo import ZoneInfo

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = HERE          # where write() puts the files; main(out) changes it
PUMP_TZ = ZoneInfo("America/New_York")
SERVER_TZ = ZoneInfo("America/Los_Angeles")
UTC = dt.timezone.utc

SERIAL = "11111111"
USER_GUID = "00000000-aaaa-4bbb-8ccc-111111111111"
DEVICE_SETTINGS_GUID = "00000000-dddd-4eee-8fff-222222222222"
DEVICE_TYPE = "t:slim X2 Insulin Pump"

CF = 40          # correction factor mg/dL per unit
CR = 8           # carb ratio g per unit
TARGET = 110     # mg/dL
AUTO_TARGET = 160

PROFILE = [("00:00", 0.80), ("06:00", 1.10), ("11:00", 0.95), ("17:00", 1.00), ("22:00", 0.85)]


# ---------------------------------------------------------------- time helpers

def L(s, fold=0):
    """Pump wall-clock ISO string (+fold for the repeated DST hour) -> aware UTC instant."""
    naive = dt.datetime.fromisoformat(s)
    return naive.replace(tzinfo=PUMP_TZ, fold=fold).astimezone(UTC)


def wall(instant):
    loc = instant.astimezone(PUMP_TZ)
    return loc.replace(tzinfo=None), loc.fold


def wall_str(instant):
    return wall(instant)[0].strftime("%Y-%m-%dT%H:%M:%S")


def pseudo_epoch(instant):
    naive, fold = wall(instant)
    return int(naive.replace(tzinfo=SERVER_TZ, fold=fold).timestamp())


def net_date(instant):
    return "/Date(%d-0000)/" % (pseudo_epoch(instant) * 1000)


def local_midnights(w_start, w_end):
    out = []
    d = wall(w_start)[0].date()
    while True:
        m = L(d.isoformat() + "T00:00:00")
        if m >= w_end:
            break
        if m > w_start:
            out.append(m)
        d += dt.timedelta(days=1)
    return out


def num(x):
    """JSON number the way a .NET serializer writes doubles: 0 -> 0, 0.8 -> 0.8."""
    if isinstance(x, float) and x == int(x):
        return int(x)
    return x


def dumps(obj):
    return json.dumps(obj, separators=(",", ":"), ensure_ascii=False)


def write(relpath, text):
    path = os.path.join(OUT, relpath)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w", encoding="utf-8", newline="") as f:
        f.write(text)


# ------------------------------------------------------------------ the model

class Window:
    def __init__(self, name, start_date, end_date, cutoff=None):
        self.name = name
        self.start_date = start_date          # "2021-10-20"
        self.end_date = end_date
        self.start = L(start_date + "T00:00:00")
        self.end = L((dt.date.fromisoformat(end_date) + dt.timedelta(days=1)).isoformat() + "T00:00:00")
        self.cutoff = cutoff or self.end        # last pump upload; nothing after it exists yet
        self.overrides = []      # (start, end, kind, rate)   kind in algorithm/temp
        self.suspensions = []    # (start, end, reason)       reason control-iq handled via overrides
        self.ciq_zero = []       # (start, end)  algorithm zero-rate with control-iq suspension record
        self.activities = []     # (start, end, eventType)
        self.ws2_events = []     # (instant, reason)
        self.boluses = []
        self.bumps = []          # (center instant, amplitude, width minutes)
        self.finger_bgs = []     # (instant, value)
        self.report_generated = None
        self.index_base = 0
        self.source_rec_base = 0
        self.ciq_available = True

    # --- builders
    def algorithm(self, start, rates):
        t = start
        for r in rates:
            self.overrides.append((t, t + dt.timedelta(seconds=300), "algorithm", r))
            t += dt.timedelta(seconds=300)
        return t

    def algorithm_zero(self, start, seconds):
        end = start + dt.timedelta(seconds=seconds)
        self.overrides.append((start, end, "algorithm", 0.0))
        self.ciq_zero.append((start, end))
        return end

    def temp(self, start, seconds, rate):
        self.overrides.append((start, start + dt.timedelta(seconds=seconds), "temp", rate))

    # --- derived data
    def profile_rate(self, instant):
        naive = wall(instant)[0]
        hhmm = naive.strftime("%H:%M")
        rate = PROFILE[0][1]
        for t, r in PROFILE:
            if hhmm >= t:
                rate = r
        return rate

    def profile_boundaries(self):
        out = []
        d = dt.date.fromisoformat(self.start_date)
        while d <= dt.date.fromisoformat(self.end_date):
            for t, _ in PROFILE[1:]:
                out.append(L(d.isoformat() + "T" + t + ":00"))
            d += dt.timedelta(days=1)
        return out

    def basal_pieces(self):
        mids = local_midnights(self.start, self.end)
        bounds = {self.start, self.cutoff}
        bounds.update(m for m in mids if m < self.cutoff)
        bounds.update(b for b in self.profile_boundaries() if self.start < b < self.cutoff)
        for s, e, _, _ in self.overrides:
            bounds.update(x for x in (s, e) if self.start < x < self.cutoff)
        for s, e, _ in self.suspensions:
            bounds.update(x for x in (s, e) if self.start < x < self.cutoff)
        bounds = sorted(bounds)
        pieces = []
        for a, b in zip(bounds, bounds[1:]):
            if any(s <= a < e for s, e, _ in self.suspensions):
                continue
            ov = [o for o in self.overrides if o[0] <= a < o[1]]
            if ov:
                kind, rate = ov[0][2], ov[0][3]
            else:
                kind, rate = "profile", self.profile_rate(a)
            pieces.append([a, b, kind, rate])
        # merge profile/temp pieces that are split only by a boundary that is not midnight,
        # a profile change or an algorithm step (never merge algorithm pieces)
        merged = []
        for p in pieces:
            if merged:
                q = merged[-1]
                if (q[2] == p[2] and q[2] != "algorithm" and q[3] == p[3] and q[1] == p[0]
                        and p[0] not in mids):
                    q[1] = p[1]
                    continue
            merged.append(p)
        return merged, mids

    def glucose(self, t):
        m = (t - dt.datetime(2021, 1, 1, tzinfo=UTC)).total_seconds() / 60.0
        v = 122 + 13 * math.sin(m / 173.0) + 8 * math.sin(m / 41.0 + 1.3) + 3 * math.sin(m / 11.0)
        for c, amp, width in self.bumps:
            x = (t - c).total_seconds() / 60.0 / width
            v += amp * math.exp(-x * x)
        return int(round(min(max(v, 45), 330)))

    def cgm_times(self):
        t = self.start + dt.timedelta(minutes=2, seconds=33)
        out = []
        while t < self.cutoff:
            out.append(t)
            t += dt.timedelta(minutes=5)
        return out

    def cgm_before(self, instant):
        last = None
        for t in self.cgm_times():
            if t <= instant:
                last = t
        return self.glucose(last)


def bolus(w, **kw):
    b = dict(kw)
    b.setdefault("override", False)
    b.setdefault("carbs", 0)
    b.setdefault("bg", None)
    b.setdefault("ext", None)
    w.boluses.append(b)
    return b


# ------------------------------------------------------------ IOB (simple model)

def delivered_parts(b):
    """(instant, units) pairs of insulin actually delivered for a bolus."""
    parts = []
    if b["delivered"] is None:          # not finalized yet (later bolus)
        return parts
    if b["delivered"] > 0:
        parts.append((b["completion"], b["delivered"]))
    ext = b["ext"]
    if ext and ext.get("end"):
        parts.append((ext["start"] + (ext["end"] - ext["start"]) / 2, ext["size"]))
    return parts


def iob_at(w, t):
    total = 0.0
    for b in w.boluses:
        for when, units in delivered_parts(b):
            if when <= t:
                frac = max(0.0, 1.0 - (t - when).total_seconds() / (300 * 60.0))
                total += units * frac ** 1.6
    return round(total, 2)


# ----------------------------------------------------------- scenario windows

def window_a():
    w = Window("window-2021-10-20_2021-10-21", "2021-10-20", "2021-10-21")
    w.report_generated = "10/22/2021 8:15:02 AM"
    w.index_base = 411820
    w.source_rec_base = 1012400000

    # glucose shape: overnight low, meals, afternoon high
    for c, a, wd in [("2021-10-20T01:20:00", -55, 35), ("2021-10-20T08:40:00", 60, 45),
                     ("2021-10-20T13:10:00", 40, 45), ("2021-10-20T15:05:00", 85, 40),
                     ("2021-10-20T19:20:00", 45, 55), ("2021-10-21T02:30:00", -35, 35),
                     ("2021-10-21T07:55:00", 75, 30), ("2021-10-21T09:00:00", 35, 40),
                     ("2021-10-21T14:00:00", 45, 50), ("2021-10-21T18:45:00", 60, 35),
                     ("2021-10-21T21:00:00", 30, 40)]:
        w.bumps.append((L(c), a, wd))

    # ---- Control:IQ basal behaviour, day 1
    t = w.algorithm(L("2021-10-20T00:41:17"), [0.62, 0.55, 0.48, 0.40, 0.52, 0.66, 0.79])
    t = w.algorithm_zero(t, 1500)                       # 01:16:17 control-iq suspension
    w.algorithm(t, [0.35, 0.52, 0.70, 0.80])
    w.algorithm(L("2021-10-20T07:50:03"), [1.45, 1.62, 1.80, 1.70, 1.55, 1.38, 1.25, 1.15, 1.12, 1.11])
    w.algorithm(L("2021-10-20T14:55:12"), [1.55, 1.80, 2.05, 2.10, 1.90, 1.60])
    w.suspensions.append((L("2021-10-20T16:10:05"), L("2021-10-20T16:48:30"), "manual"))
    w.algorithm(L("2021-10-20T17:30:00"), [0.70, 0.60, 0.55, 0.65])
    w.temp(L("2021-10-20T19:30:00"), 3600, 1.50)
    # ---- day 2
    w.algorithm(L("2021-10-21T02:10:44"), [0.70, 0.60, 0.55, 0.62, 0.75, 0.84])
    w.algorithm(L("2021-10-21T08:07:31"), [1.40, 1.60, 1.75, 1.60, 1.40, 1.20])
    w.temp(L("2021-10-21T09:30:00"), 1200, 0.0)        # 0 % temp rate -> ws2 "temp-profile"
    w.suspensions.append((L("2021-10-21T13:06:02"), L("2021-10-21T13:58:45"), "alarm"))
    w.algorithm(L("2021-10-21T18:40:00"), [1.35, 1.55, 1.70, 1.50, 1.30, 1.10])

    # ---- activity events (Control:IQ "events")
    w.activities += [
        (L("2021-10-20T00:30:14"), L("2021-10-20T07:00:02"), 1),   # sleep
        (L("2021-10-20T17:30:00"), L("2021-10-20T18:15:00"), 2),   # exercise
        (L("2021-10-21T00:30:14"), L("2021-10-21T07:00:02"), 1),   # sleep
    ]

    # ---- ws2 basalsuspension events
    w.ws2_events += [
        (L("2021-10-20T16:10:05"), "manual"),
        (L("2021-10-21T09:30:00"), "temp-profile"),
        (L("2021-10-21T13:06:02"), "alarm"),
        (L("2021-10-21T13:41:27"), "site-cart"),
        (L("2021-10-21T13:52:09"), "site-cart"),
        (L("2021-10-21T21:14:37"), "basal-profile"),
    ]

    # ---- boluses
    fp = L("2021-10-20T07:42:10")
    w.finger_bgs.append((L("2021-10-20T07:41:52"), None))   # value filled below
    bolus(w, kind="stdcorr", req=fp, completion=L("2021-10-20T07:44:05"), carbs=45,
          bg="finger", food=5.63, corr=None, delivered=None)
    bolus(w, kind="std", req=L("2021-10-20T12:15:33"), completion=L("2021-10-20T12:17:41"), carbs=60,
          bg="cgm", food=7.50, corr=0.0, delivered=7.50)
    bolus(w, kind="auto", req=L("2021-10-20T15:02:41"), completion=L("2021-10-20T15:04:12"),
          food=0.0, corr=0.95, delivered=0.95, bg="cgm")
    bolus(w, kind="ext", req=L("2021-10-20T18:30:12"), completion=L("2021-10-20T18:31:40"), carbs=40,
          bg="cgm", food=5.00, corr=0.0, delivered=2.50,
          ext=dict(percent=50, minutes=120, size=2.50, start=L("2021-10-20T18:31:40"),
                   end=L("2021-10-20T20:31:40")))
    bolus(w, kind="stdcorr", req=L("2021-10-21T08:05:20"), completion=L("2021-10-21T08:07:31"), carbs=30,
          bg="cgm", food=3.75, corr=None, delivered=6.00, override=True, requested=6.00)
    bolus(w, kind="std", req=L("2021-10-21T12:31:05"), completion=L("2021-10-21T12:31:11"),
          food=0.0, corr=0.0, delivered=0.0, requested=0.50, override=True, bg="cgm",
          status=(0, "User Aborted"))
    bolus(w, kind="std", req=L("2021-10-21T13:05:10"), completion=L("2021-10-21T13:06:02"), carbs=24,
          bg="cgm", food=3.00, corr=0.0, delivered=1.45, requested=3.00,
          status=(1, "Terminated by Alarm"))
    bolus(w, kind="auto", req=L("2021-10-21T18:44:03"), completion=L("2021-10-21T18:45:29"),
          food=0.0, corr=0.75, delivered=0.75, bg="cgm")
    bolus(w, kind="std", req=L("2021-10-21T20:15:40"), completion=L("2021-10-21T20:16:38"), carbs=16,
          bg="cgm", food=2.00, corr=0.0, delivered=2.00)
    return w


def window_dst():
    w = Window("window-2021-11-06_2021-11-07-dst", "2021-11-06", "2021-11-07",
               cutoff=L("2021-11-07T23:35:00"))
    w.report_generated = "11/7/2021 11:40:12 PM"
    w.index_base = 417650
    w.source_rec_base = 1034900000

    for c, a, wd, fold in [("2021-11-06T01:30:00", -30, 40, 0), ("2021-11-06T08:50:00", 65, 45, 0),
                           ("2021-11-06T13:45:00", 45, 45, 0), ("2021-11-06T19:50:00", 55, 50, 0),
                           ("2021-11-07T01:05:00", 70, 30, 0), ("2021-11-07T01:35:00", 55, 25, 1),
                           ("2021-11-07T09:15:00", 60, 45, 0), ("2021-11-07T18:30:00", 35, 50, 0)]:
        w.bumps.append((L(c, fold), a, wd))

    # day 1 (EDT)
    w.algorithm(L("2021-11-06T01:05:10"), [0.60, 0.50, 0.45, 0.55, 0.70, 0.80])
    w.algorithm(L("2021-11-06T08:15:02"), [1.45, 1.70, 1.85, 1.65, 1.40, 1.20])
    w.suspensions.append((L("2021-11-06T13:55:30"), L("2021-11-06T14:13:30"), "site-cart"))
    w.algorithm(L("2021-11-06T19:20:11"), [1.30, 1.50, 1.45, 1.25, 1.10])
    w.suspensions.append((L("2021-11-06T23:40:12"), L("2021-11-07T00:25:40"), "manual"))
    # day 2: the repeated 01:00-02:00 hour (EDT fold=0, then EST fold=1)
    t = w.algorithm(L("2021-11-07T01:00:41", 0), [1.20, 1.45, 1.60, 1.50, 1.30])
    w.algorithm(L("2021-11-07T01:05:05", 1), [0.50, 0.35])
    w.algorithm_zero(L("2021-11-07T01:15:05", 1), 1200)   # 01:15:05 EST control-iq suspension
    w.algorithm(L("2021-11-07T01:35:05", 1), [0.55, 0.70, 0.85])
    w.algorithm(L("2021-11-07T08:22:13"), [1.40, 1.65, 1.55, 1.35, 1.15])
    w.temp(L("2021-11-07T16:00:00"), 5400, 0.60)

    w.activities += [
        (L("2021-11-06T00:30:14"), L("2021-11-06T07:00:02"), 1),
        (L("2021-11-06T10:00:00"), L("2021-11-06T10:45:00"), 2),
        (L("2021-11-07T00:30:14"), L("2021-11-07T07:00:02"), 1),  # spans the DST change: 7.5 h real time
    ]

    w.ws2_events += [
        (L("2021-11-06T14:03:11"), "site-cart"),
        (L("2021-11-06T14:12:45"), "site-cart"),
        (L("2021-11-06T23:40:12"), "manual"),
        (L("2021-11-07T00:00:00"), "previous"),
    ]

    bolus(w, kind="stdcorr", req=L("2021-11-06T08:10:05"), completion=L("2021-11-06T08:12:20"), carbs=35,
          bg="cgm", food=4.38, corr=None, delivered=None)
    bolus(w, kind="std", req=L("2021-11-06T13:02:44"), completion=L("2021-11-06T13:04:58"), carbs=50,
          bg="cgm", food=6.25, corr=0.0, delivered=6.25)
    bolus(w, kind="std", req=L("2021-11-06T19:05:30"), completion=L("2021-11-06T19:07:52"), carbs=55,
          bg="cgm", food=6.88, corr=0.0, delivered=6.88)
    bolus(w, kind="auto", req=L("2021-11-07T01:12:40", 0), completion=L("2021-11-07T01:13:52", 0),
          food=0.0, corr=0.85, delivered=0.85, bg="cgm")
    bolus(w, kind="auto", req=L("2021-11-07T01:47:10", 1), completion=L("2021-11-07T01:48:06", 1),
          food=0.0, corr=0.60, delivered=0.60, bg="cgm")
    w.finger_bgs.append((L("2021-11-07T08:19:31"), None))
    bolus(w, kind="stdcorr", req=L("2021-11-07T08:20:00"), completion=L("2021-11-07T08:22:13"), carbs=40,
          bg="finger", food=5.00, corr=None, delivered=None)
    bolus(w, kind="std", req=L("2021-11-07T12:40:19"), completion=L("2021-11-07T12:42:01"), carbs=45,
          bg="cgm", food=5.63, corr=0.0, delivered=5.63)
    bolus(w, kind="ext", req=L("2021-11-07T23:10:30"), completion=L("2021-11-07T23:11:21"), carbs=32,
          bg="cgm", food=4.00, corr=0.0, delivered=2.00,
          ext=dict(percent=50, minutes=60, size=2.00, start=L("2021-11-07T23:11:21"), end=None))
    return w


def window_preciq():
    w = Window("window-2020-01-14_2020-01-15-pre-ciq", "2020-01-14", "2020-01-15")
    w.report_generated = "1/16/2020 7:02:45 AM"
    w.index_base = 251300
    w.source_rec_base = 600100000
    w.ciq_available = False
    for c, a, wd in [("2020-01-14T08:30:00", 60, 45), ("2020-01-14T19:00:00", 50, 50),
                     ("2020-01-15T08:40:00", 55, 45)]:
        w.bumps.append((L(c), a, wd))
    w.temp(L("2020-01-14T15:00:00"), 3600, 0.50)
    w.suspensions.append((L("2020-01-15T11:20:40"), L("2020-01-15T11:52:03"), "manual"))
    w.ws2_events += [(L("2020-01-15T11:20:40"), "manual")]
    bolus(w, kind="std", req=L("2020-01-14T07:55:30"), completion=L("2020-01-14T07:57:48"), carbs=50,
          bg="cgm", food=6.25, corr=0.0, delivered=6.25)
    bolus(w, kind="stdcorr", req=L("2020-01-15T08:01:02"), completion=L("2020-01-15T08:03:30"), carbs=40,
          bg="cgm", food=5.00, corr=None, delivered=None)
    return w


# ------------------------------------------------------------- bolus details

def finalize_boluses(w):
    fb = iter(w.finger_bgs)
    idx = w.index_base
    req_id = 7001 if w.name.startswith("window-2021-10") else (7422 if "11-06" in w.name else 3120)
    for b in sorted(w.boluses, key=lambda b: b["req"]):
        cgm = w.cgm_before(b["req"])
        if b["bg"] == "cgm":
            b["bg_value"] = cgm
        elif b["bg"] == "finger":
            b["bg_value"] = cgm + 4
            ftime, _ = next(fb)
            w.finger_bgs[w.finger_bgs.index((ftime, None))] = (ftime, b["bg_value"])
        else:
            b["bg_value"] = None
        b["iob"] = iob_at(w, b["req"] - dt.timedelta(seconds=1))
        if b["kind"] == "auto":
            b["calc_corr"] = b["corr"]
        elif b["corr"] is None:
            raw = max(0.0, (b["bg_value"] - TARGET) / CF - b["iob"])
            b["corr"] = round(raw, 2)
        if b["kind"] == "ext":
            b["requested"] = round(b["food"] + b["corr"], 2)
        calc_total = round(b["food"] + b["corr"], 2)
        b["calc_total"] = calc_total
        b.setdefault("requested", calc_total)
        if b["delivered"] is None:
            b["delivered"] = b["requested"]
        b.setdefault("status", (3, "Completed"))
        b["req_id"] = req_id
        req_id += 1 + (b["req"].minute % 3)
        idx += 37 + (b["req"].second % 11)
        b["index_id"] = idx
        b["source_rec_id"] = w.source_rec_base + idx * 7
        if b["ext"]:
            b["ext"]["completion_id"] = 16700000 + idx if b["ext"]["end"] else 0


def bolus_texts(b, html=False):
    kind = b["kind"]
    if kind == "std":
        desc, btype, opts, ehr = "Standard", "Carb", "Standard", "Food Bolus"
    elif kind == "stdcorr":
        desc, btype, opts, ehr = "Standard/Correction", "Carb", "Standard/Correction", "Correction & Food Bolus"
    elif kind == "auto":
        desc, btype, opts, ehr = ("Automatic Bolus/Correction", "Automatic Correction",
                                  "Automatic Bolus/Correction", "Correction Bolus")
    else:
        pct = "&#37;" if html else "%"
        desc = "Extended %.2f%%/0.00" % b["ext"]["percent"]
        btype, opts = "Carb", "Extended"
        ehr = "Food Bolus: %d%s Extended %d mins" % (b["ext"]["percent"], pct, b["ext"]["minutes"])
    if kind == "auto":
        details = "CF 1:%d - Carb Ratio 1:0 - Target BG %d" % (CF, AUTO_TARGET)
    else:
        details = "CF 1:%d - Carb Ratio 1:%d - Target BG %d" % (CF, CR, TARGET)
    if b["override"]:
        sep = "<br/>" if html else " | "
        details += "%sOverride: Pump calculated Bolus = %.1f units" % (sep, b["calc_total"])
    return desc, btype, opts, ehr, details


BOLUS_HEADER = ("Type,Description,BG,IOB,BolusRequestID,BolusCompletionID,CompletionDateTime,"
                "InsulinDelivered,FoodDelivered,CorrectionDelivered,CompletionStatusID,CompletionStatusDesc,"
                "BolusIsComplete,BolexCompletionID,BolexSize,BolexStartDateTime,BolexCompletionDateTime,"
                "BolexInsulinDelivered,BolexIOB,BolexCompletionStatusID,BolexCompletionStatusDesc,"
                "ExtendedBolusIsComplete,EventDateTime,RequestDateTime,BolusType,BolusRequestOptions,"
                "StandardPercent,Duration,CarbSize,UserOverride,TargetBG,CorrectionFactor,FoodBolusSize,"
                "CorrectionBolusSize,ActualTotalBolusRequested,IsQuickBolus,EventHistoryReportEventDesc,"
                "EventHistoryReportDetails,NoteID,IndexID,Note")


def csv_row(values, trailing_comma):
    buf = io.StringIO()
    csv.writer(buf, quoting=csv.QUOTE_ALL, lineterminator="").writerow(values)
    return buf.getvalue() + ("," if trailing_comma else "")


def delivered_split(b):
    """(food, correction) units reported as delivered for the immediate part."""
    st_id = b["status"][0]
    if b["override"]:
        return 0.0, 0.0          # samples with overrides report 0.00 / 0.00
    if b["ext"]:
        return b["delivered"], 0.0
    if st_id == 3:
        return b["food"], b["corr"]
    food = min(b["delivered"], b["food"])
    return food, round(b["delivered"] - food, 2)


def bolus_csv_row(w, b):
    desc, btype, opts, ehr, details = bolus_texts(b)
    st_id, st_desc = b["status"]
    complete = "1" if st_id == 3 else "0"
    ext = b["ext"]
    if ext:
        done = ext["end"] is not None
        bolex = ["%d" % ext["completion_id"], "%.2f" % ext["size"], wall_str(ext["start"]),
                 wall_str(ext["end"]) if done else "",
                 "%.2f" % ext["size"] if done else "",
                 ("%.2f" % iob_at(w, ext["end"])) if done else "0",
                 "3.00" if done else "0", "Completed" if done else "", "1" if done else "0"]
        std_pct = "%.2f" % ext["percent"]
        duration = "%d" % ext["minutes"]
    else:
        bolex = [""] * 9
        std_pct = "100.00"
        duration = "0"
    override = b["override"]
    food_del, corr_del = delivered_split(b)
    food_del, corr_del = "%.2f" % food_del, "%.2f" % corr_del
    values = [
        "Bolus", desc, "" if b["kind"] == "auto" else ("%d" % b["bg_value"] if b["bg_value"] else ""),
        "%.2f" % b["iob"] if b["iob"] else "",
        "%d.000" % b["req_id"], "%d.000" % b["req_id"], wall_str(b["completion"]),
        "%.2f" % b["delivered"], food_del, corr_del, "%d" % st_id, st_desc, complete,
        *bolex,
        wall_str(b["req"]), wall_str(b["req"]), btype, opts, std_pct, duration, "%d" % b["carbs"],
        "1" if override else "0", "%d" % (AUTO_TARGET if b["kind"] == "auto" else TARGET), "%.2f" % CF,
        "%.2f" % b["food"], "%.2f" % b["corr"], "%.2f" % b["requested"], "0",
        # the real export carries one extra value here that has no header name (see README)
        "0",
        ehr, details, "0", "%d" % b["index_id"], "",
    ]
    return csv_row(values, trailing_comma=True)


def bolus_event_json(w, b):
    desc, btype, opts, ehr, details = bolus_texts(b, html=True)
    st_id, st_desc = b["status"]
    ev = {
        "actualTotalBolusRequested": num(b["requested"]),
    }
    if b["bg_value"]:
        ev["bg"] = b["bg_value"]
    if b["ext"]:
        ext = b["ext"]
        if ext["end"]:
            ev["bolex"] = {"size": num(ext["size"]), "bolexStartDateTime": wall_str(ext["start"]),
                           "insulinDelivered": {"completionDateTime": wall_str(ext["end"]),
                                                "value": num(ext["size"])},
                           "iob": num(iob_at(w, ext["end"])), "completionStatusId": 3,
                           "completionStatusDesc": "Completed", "extendedBolusIsComplete": 1,
                           "insulinRequested": num(ext["size"]), "bolexCompletionId": ext["completion_id"]}
        else:
            ev["bolex"] = {"size": num(ext["size"]), "bolexStartDateTime": wall_str(ext["start"]),
                           "iob": 0, "completionStatusId": 0, "extendedBolusIsComplete": 0,
                           "insulinRequested": 0, "bolexCompletionId": 0}
    ev.update({
        "bolusRequestOptions": opts,
        "bolusType": btype,
        "carbSize": b["carbs"],
        "correctionBolusSize": num(b["corr"]),
        "correctionFactor": CF,
        "declinedCorrection": 0,
        "duration": b["ext"]["minutes"] if b["ext"] else 0,
        "eventDateTime": wall_str(b["req"]),
        "eventHistoryReportDetails": details,
        "eventHistoryReportEventDesc": ehr,
        "foodBolusSize": num(b["food"]),
        "iob": num(b["iob"]),
        "isQuickBolus": 0,
        "note": {"id": 0, "indexId": "%d" % b["index_id"], "eventTypeId": 64, "sourceRecordId": 0,
                 "eventId": 0, "active": False},
        "requestDateTime": wall_str(b["req"]),
        "standard": {
            "insulinDelivered": {"completionDateTime": wall_str(b["completion"]), "value": num(b["delivered"])},
            "foodDelivered": num(delivered_split(b)[0]),
            "correctionDelivered": num(delivered_split(b)[1]),
            "insulinRequested": num(b["delivered"] if b["ext"] else b["requested"]),
            "completionStatusId": st_id,
            "completionStatusDesc": st_desc,
            "bolusIsComplete": 1 if st_id == 3 else 0,
            "bolusRequestId": b["req_id"],
            "bolusCompletionId": b["req_id"],
        },
        "standardPercent": b["ext"]["percent"] if b["ext"] else 100,
        "targetBG": AUTO_TARGET if b["kind"] == "auto" else TARGET,
        "userOverride": 1 if b["override"] else 0,
        "type": "Bolus",
        "description": desc,
        "sourceRecId": b["source_rec_id"],
        "eventTypeId": 0, "indexId": 0, "uploadId": 0, "interactive": 0,
        "tempRateId": 0, "tempRateCompleted": 0, "tempRateActivated": 0,
    })
    return ev


# ------------------------------------------------------------------ renderers

def render_ciq_timeline(w):
    pieces, mids = w.basal_pieces()
    out = {"basal": {"profileRates": [], "tempDeliveryEvents": [], "algorithmDeliveryEvents": [],
                     "profileDeliveryEvents": []},
           "events": [], "suspensionDeliveryEvents": [], "softwareUpdates": [],
           "pumpFeatures": [pump_features()]}
    key = {"algorithm": "algorithmDeliveryEvents", "temp": "tempDeliveryEvents",
           "profile": "profileDeliveryEvents"}
    for a, b, kind, rate in pieces:
        out["basal"][key[kind]].append({"y": num(rate), "duration": int((b - a).total_seconds()),
                                        "x": pseudo_epoch(a)})
    susp = []
    for s, e in w.ciq_zero:
        susp.append((s, "control-iq", None))
    for s, e, reason in w.suspensions:
        if s < w.cutoff:
            susp.append((s, reason, None))
            for m in mids:
                if s < m < e:
                    susp.append((m, reason, "previous"))
    for s, reason, cont in sorted(susp):
        out["suspensionDeliveryEvents"].append({"suspendReason": reason, "continuation": cont,
                                                "x": pseudo_epoch(s)})
    for s, e, etype in w.activities:
        end = min(e, w.cutoff)
        out["events"].append({"continuation": None, "duration": int((end - s).total_seconds()),
                              "eventType": etype, "timeZoneId": "America/Los_Angeles",
                              "x": pseudo_epoch(s)})
    return dumps(out)


def pump_features():
    first = L("2020-01-21T09:12:44")
    return {"serialNumber": SERIAL,
            "features": {"controlIQ": {"feature": 1, "dateTimeFirstDetected": wall_str(first),
                                       "unixTimestamp": pseudo_epoch(first)}}}


def render_summary(w):
    pieces, _ = w.basal_pieces()
    total_min = (w.cutoff - w.start).total_seconds() / 60.0
    susp_min = sum((min(e, w.cutoff) - s).total_seconds() / 60.0 for s, e, _ in w.suspensions if s < w.cutoff)
    cgm = [w.glucose(t) for t in w.cgm_times()]
    days = (dt.date.fromisoformat(w.end_date) - dt.date.fromisoformat(w.start_date)).days + 1
    sleep_min = sum((min(e, w.cutoff) - s).total_seconds() / 60.0 for s, e, k in w.activities if k == 1)
    exercises = sum(1 for _, _, k in w.activities if k == 2)
    in_use = total_min - susp_min
    out = {"averageReading": int(round(sum(cgm) / len(cgm))),
           "timeInUseMinutes": int(round(in_use)),
           "controlIqSetToOffMinutes": 0,
           "cgmInactiveMinutes": 0,
           "pumpInactiveMinutes": int(round(susp_min)),
           "averageDailySleepMinutes": int(round(sleep_min / days)),
           "weeklyExerciseEvents": int(round(exercises * 7.0 / days)),
           "timeInUsePercent": int(round(100 * in_use / total_min)),
           "controlIqOffPercent": 0,
           "cgmInactivePercent": 0,
           "pumpInactivePercent": int(round(100 * susp_min / total_min)),
           "totalDays": days}
    return dumps(out)


def render_csv(w):
    lines = ["Tandem Diabetes Care Inc.",
             "t:connect Therapy Timeline Data Export",
             "Patient Name, Alex Sample",
             "Patient DOB, 1/1/1990",
             "Report Generated On, %s" % w.report_generated,
             ""]
    # readings (CGM + BGM)
    lines.append("DeviceType,SerialNumber,Description,EventDateTime,Readings (CGM / BGM)")
    readings = [(t, "EGV", w.glucose(t)) for t in w.cgm_times()]
    readings += [(t, "BG", v) for t, v in w.finger_bgs]
    for t, desc, v in sorted(readings, key=lambda r: r[0]):
        lines.append(csv_row([DEVICE_TYPE, SERIAL, desc, wall_str(t), "%d" % v], trailing_comma=True))
    lines.append("")
    # IOB
    lines.append("Type,EventID,EventDateTime,IOB")
    iob_rows = []
    t = w.start + dt.timedelta(seconds=19)
    while t < w.cutoff:
        iob_rows.append((t, "81"))
        t += dt.timedelta(minutes=5)
    for b in w.boluses:
        if b["delivered"] > 0:
            iob_rows.append((b["completion"] + dt.timedelta(seconds=2), "9"))
    for t, eid in sorted(iob_rows):
        lines.append(csv_row(["IOB", eid, wall_str(t), "%.2f" % iob_at(w, t)], trailing_comma=False))
    lines.append("")
    # basal: only exists for pumps/periods without Control-IQ
    if not w.ciq_available:
        lines.append("Type,EventDateTime,BasalRate")
        pieces, _ = w.basal_pieces()
        rows, prev = [], None
        for a, b, kind, rate in pieces:
            if prev is None or prev[3] != rate or prev[1] != a:
                rows.append((a, rate))
            prev = (a, b, kind, rate)
        rows += [(s, 0.0) for s, e, _ in w.suspensions]
        for t, rate in sorted(rows):
            lines.append(csv_row(["Basal", wall_str(t), "%.3f" % rate], trailing_comma=False))
        lines.append("")
    # bolus
    lines.append(BOLUS_HEADER)
    for b in sorted(w.boluses, key=lambda b: b["req"]):
        lines.append(bolus_csv_row(w, b))
    return "\n".join(lines) + "\n"


def render_basalsuspension(w, filterbasal=False):
    rows = []
    for t, reason in sorted(w.ws2_events):
        if filterbasal and reason != "site-cart":
            continue
        if reason == "previous":
            rows.append({"Continuation": "continuation", "EventDateTime": net_date(t), "SuspendReason": reason})
        else:
            rows.append({"EventDateTime": net_date(t), "SuspendReason": reason})
    return "cb(" + dumps({"BasalSuspension": rows}) + ")"


def render_basaliqtech(w):
    # Shape not recorded by upstream (only logged during --check-login). Placeholder object.
    return "cb(" + dumps({"BasalIQTech": []}) + ")"


def egv_flags(v):
    return {"estimatedGlucoseValue": v, "hypo": int(v < 54), "belowTarget": int(54 <= v < 70),
            "withinTarget": int(70 <= v <= 180), "aboveTarget": int(180 < v <= 250), "hyper": int(v > 250)}


def render_therapy_events(w):
    events = []
    for t in w.cgm_times():
        events.append((t, {"eventDateTime": wall_str(t), "eventID": 256, "requestDateTime": "0001-01-01T00:00:00",
                           "type": "CGM", "description": "EGV", "sourceRecId": 0, "eventTypeId": 0,
                           "deviceType": DEVICE_TYPE, "serialNumber": SERIAL, "indexId": 0, "uploadId": 0,
                           "interactive": 0, "tempRateId": 0, "tempRateCompleted": 0, "tempRateActivated": 0,
                           "egv": egv_flags(w.glucose(t))}))
    for i, (t, v) in enumerate(w.finger_bgs):
        events.append((t, {"bg": v, "cgmCalibration": 0, "description": "BG", "deviceType": DEVICE_TYPE,
                           "eventDateTime": wall_str(t), "eventTypeId": 16, "indexId": w.index_base + 5 + i,
                           "interactive": 0, "iob": num(iob_at(w, t)),
                           "note": {"active": False, "eventId": 0, "eventTypeId": 16, "id": 0, "indexId": "",
                                    "sourceRecordId": 0},
                           "requestDateTime": "0001-01-01T00:00:00", "serialNumber": SERIAL,
                           "sourceRecId": w.source_rec_base + 11 + i, "tempRateActivated": 0,
                           "tempRateCompleted": 0, "tempRateId": 0, "type": "BG", "uploadId": 0}))
    for b in w.boluses:
        events.append((b["req"], bolus_event_json(w, b)))
    events.sort(key=lambda e: e[0])
    return dumps({"event": [e for _, e in events]})


# ------------------------------------------------------------- static files

LOGIN_PAGE = """<!DOCTYPE html>
<html xmlns="http://www.w3.org/1999/xhtml">
<head><title>t:connect - Login</title></head>
<body>
<form method="post" action="./login.aspx?ReturnUrl=%2f" onsubmit="javascript:return WebForm_OnSubmit();" id="form1">
<div class="aspNetHidden">
<input type="hidden" name="__LASTFOCUS" id="__LASTFOCUS" value="" />
<input type="hidden" name="__EVENTTARGET" id="__EVENTTARGET" value="" />
<input type="hidden" name="__EVENTARGUMENT" id="__EVENTARGUMENT" value="" />
<input type="hidden" name="__VIEWSTATE" id="__VIEWSTATE" value="/wEPDwUKLTk5OTk5OTk5OQ9kFgJmD2QWAgIDD2QWAgIBD2QWAmYPZBYCAgEPFgIeBFRleHQFFFN5bnRoZXRpYyBmaXh0dXJlIDFkZA==" />
</div>
<div class="aspNetHidden">
<input type="hidden" name="__VIEWSTATEGENERATOR" id="__VIEWSTATEGENERATOR" value="C2EE9ABB" />
<input type="hidden" name="__EVENTVALIDATION" id="__EVENTVALIDATION" value="/wEdAAVzeW50aGV0aWMtZXZlbnQtdmFsaWRhdGlvbi0wMDAx" />
</div>
<div id="content">
  <div class="login_box">
    <label for="txtLoginEmailAddress">Email Address</label>
    <input name="ctl00$ContentBody$LoginControl$txtLoginEmailAddress" type="text" id="txtLoginEmailAddress" class="riTextBox riEnabled" />
    <input id="txtLoginEmailAddress_ClientState" name="txtLoginEmailAddress_ClientState" type="hidden" />
    <label for="txtLoginPassword">Password</label>
    <input name="ctl00$ContentBody$LoginControl$txtLoginPassword" type="password" id="txtLoginPassword" class="riTextBox riEnabled" />
    <input id="txtLoginPassword_ClientState" name="txtLoginPassword_ClientState" type="hidden" />
    <a id="linkLogin" class="button" href="javascript:__doPostBack(&#39;ctl00$ContentBody$LoginControl$linkLogin&#39;,&#39;&#39;)"><span>Log In</span></a>
  </div>
</div>
<div id="footer"><span id="footer_version">t:connect 7.14.0.1</span></div>
</form>
</body>
</html>
"""

LOGIN_FAILURE_PAGE = LOGIN_PAGE.replace(
    '<div class="login_box">',
    '<div class="login_box">\n    <div class="notice_error">Synthetic fixture: the email address or password is incorrect.</div>')

OBJECT_MOVED = """<html><head><title>Object moved</title></head><body>
<h2>Object moved to <a href="%s">here</a>.</h2>
</body></html>
"""

LOGIN_SUCCESS_HTTP = """HTTP/1.1 302 Found
Cache-Control: private
Content-Type: text/html; charset=utf-8
Location: /
Set-Cookie: ASP.NET_SessionId=synthsession0000000000001; path=/; secure; HttpOnly; SameSite=Lax
Set-Cookie: .ASPXAUTH=53594E5448455449432D464F524D532D415554482D4649585455524500000001; path=/; secure; HttpOnly
Set-Cookie: UserGUID=%s; path=/; secure
Set-Cookie: accessToken=synthetic-ciq-access-token-0001; path=/; secure
Set-Cookie: accessTokenExpiresAt=2021-10-22T20:15:03.412Z; path=/; secure

""" % USER_GUID + (OBJECT_MOVED % "/")

REDIRECT_TARGET_PAGE = """<!DOCTYPE html>
<html xmlns="http://www.w3.org/1999/xhtml">
<head><title>t:connect - Home</title></head>
<body>
<div id="content"><div class="title">Welcome, Alex</div></div>
<div id="footer"><span id="footer_version">t:connect 7.14.0.1</span></div>
</body>
</html>
"""

WAF_BLOCKED_PAGE = """<html><head><title>Request Rejected</title></head>
<body>
<h1>Web Page Blocked!</h1>
<p>The page cannot be displayed. Please contact the administrator for additional information.</p>
<p>Attack ID: 20000000</p>
<p>Message ID: 000000000001</p>
</body></html>
"""

WEBUI_EXPIRED_HTTP = """HTTP/1.1 302 Found
Cache-Control: private
Content-Type: text/html; charset=utf-8
Location: /login.aspx?ReturnUrl=%2fmyaccount%2fmy_devices.aspx

""" + (OBJECT_MOVED % "/login.aspx?ReturnUrl=%2fmyaccount%2fmy_devices.aspx")

MY_DEVICES_PAGE = """<!DOCTYPE html>
<html xmlns="http://www.w3.org/1999/xhtml">
<head><title>t:connect - My Devices</title></head>
<body>
<form method="post" action="./My_Devices.aspx" id="form1">
<div id="content">
  <div class="title">My Devices</div>
  <div class="box">
    <div class="subTitle">
      t:slim X2<sup>&#8482;</sup> Insulin Pump
    </div>
    <div class="device_imagebox">
      <a href="DeviceSettings.aspx?guid=%(guid)s" class="buttonSmall"><span>View Settings</span></a>
    </div>
    <table class="boxtable"><tbody>
      <tr><td><strong>Status</strong></td><td><span id="lblDeviceStatus" class="status_activated">Activated</span> &#8212; Jan 21 2020</td></tr>
      <tr><td><strong>Model #</strong></td><td>001004000</td></tr>
      <tr><td><strong>Serial #</strong></td><td>%(serial)s</td></tr>
    </tbody></table>
  </div>
  <div class="box">
    <div class="subTitle">
      Example BG Meter
    </div>
    <table class="boxtable"><tbody>
      <tr><td><strong>Status</strong></td><td><span class="status_activated">Activated</span> &#8212; Mar 03 2019</td></tr>
      <tr><td><strong>Model #</strong></td><td>METER-0</td></tr>
      <tr><td><strong>Serial #</strong></td><td>MTR00001</td></tr>
    </tbody></table>
  </div>
</div>
</form>
</body>
</html>
""" % {"guid": DEVICE_SETTINGS_GUID, "serial": SERIAL}


def device_settings_page():
    def seg(label, rate):
        return ("      <tr><td class=\"dottedBottom\"><strong>%s</strong></td>"
                "<td class=\"dottedBottom\">%.3f u/hr</td><td class=\"dottedBottom\">1u:%d mg/dL</td>"
                "<td class=\"dottedBottom\">1u:%.1f g</td><td class=\"dottedBottom\">%d mg/dL</td></tr>\n"
                % (label, rate, CF, CR, TARGET))
    labels = {"00:00": "Midnight", "06:00": "6:00 AM", "11:00": "11:00 AM", "17:00": "5:00 PM",
              "22:00": "10:00 PM"}
    tdb = sum(r * ((int(PROFILE[i + 1][0][:2]) if i + 1 < len(PROFILE) else 24) - int(t[:2]))
              for i, (t, r) in enumerate(PROFILE))
    rows = "".join(seg(labels[t], r) for t, r in PROFILE)

    def setting(name, inner):
        return ("          <tr><td class=\"dottedBottom\"><strong>%s</strong></td>"
                "<td class=\"dottedBottom\">%s</td></tr>\n" % (name, inner))

    def subhead(name):
        return ("          <tr><td colspan=\"2\" class=\"settings_bg_sub\"><strong>%s</strong></td></tr>\n" % name)

    on = '<div class="status_on">On</div>'
    off = '<div class="status_off">Off</div>'
    alerts = (setting("Alert: Auto-Off", on + "12 hrs") + setting("Alert: Low Insulin", "20 u") +
              subhead("Reminders") + setting("Low BG", off) + setting("High BG", off) +
              setting("Site Change Reminder", on + "3 days 8:00 PM") +
              subhead("CGM Alerts") + setting("High Alert", on + "220 mg/dL 1 hr") +
              setting("Low Alert", on + "75 mg/dL 30 mins") + setting("Rise Alert", off) +
              setting("Fall Alert", on + "3 mg/dL/min"))
    pump = (setting("Quick Bolus", off) + setting("Max Bolus", "15 u") + setting("Basal Limit", "3 u/hr") +
            setting("Screen Timeout", "30 sec") +
            subhead("CGM Settings") + setting("Transmitter ID", "8XXXXX") +
            subhead("Control-IQ Settings") + setting("Control IQ", on) + setting("Weight", "160 lbs") +
            setting("Total Daily Insulin", "42 u") +
            setting("Sleep Schedule 1", on + "Everyday - 12:30 AM - 7:00 AM"))
    return """<!DOCTYPE html>
<html xmlns="http://www.w3.org/1999/xhtml">
<head><title>t:connect - Device Settings</title></head>
<body>
<form method="post" action="./DeviceSettings.aspx?guid=%(guid)s" id="form1">
<div id="content">
  <div class="subTitle">Settings Uploaded: <span id="lblUploadDate">Oct 21, 2021</span></div>
  <div id="divXML">
    <div class="top-margin-10">
      <table class="settingstable">
      <tr><td colspan="3"><div class="setting_title">Weekday</div><span class="setting_bg"> Profile</span></td>
          <td colspan="2"><strong>Active at the time of upload</strong></td></tr>
      <tr><td><strong>Start Time</strong></td><td><strong>Basal Rate</strong></td><td><strong>Correction Factor</strong></td><td><strong>Carb Ratio</strong></td><td><strong>Target BG</strong></td></tr>
%(rows)s      <tr><td class="dottedBottom"><strong>Calculated Total Daily Basal</strong></td><td class="dottedBottom">%(tdb).2f units</td><td> </td><td> </td><td> </td></tr>
      <tr><td colspan="5"><strong>Duration of Insulin:</strong> 5:00 hours <span>|</span> <strong>Carbohydrates:</strong> <div class="status_on">On</div> <span>|</span></td></tr>
      </table>
      <table class="settingstable">
      <tr><td colspan="2"><div class="setting_title">Settings</div></td></tr>
      <tr><td><strong>Alerts</strong></td><td><strong>Pump Settings</strong></td></tr>
      <tr>
        <td valign="top"><table class="settingstable">
%(alerts)s        </table></td>
        <td valign="top"><table class="settingstable">
%(pump)s        </table></td>
      </tr>
      </table>
    </div>
  </div>
</div>
</form>
</body>
</html>
""" % {"guid": DEVICE_SETTINGS_GUID, "rows": rows, "tdb": tdb, "alerts": alerts, "pump": pump}


def static_files():
    write("web/login_get.html", LOGIN_PAGE)
    write("web/login_post_success.http", LOGIN_SUCCESS_HTTP)
    write("web/login_post_failure.html", LOGIN_FAILURE_PAGE)
    write("web/login_redirect_target.html", REDIRECT_TARGET_PAGE)
    write("web/waf_blocked.html", WAF_BLOCKED_PAGE)
    write("web/my_devices.html", MY_DEVICES_PAGE)
    write("web/device_settings.html", device_settings_page())
    write("web/session_expired_redirect.http", WEBUI_EXPIRED_HTTP)

    write("android/oauth_token.json", dumps({
        "accessToken": "5ynth371c0acce55t0ken000000000000000001",
        "accessTokenExpiresAt": "2021-10-22T20:15:04.118Z",
        "refreshToken": "5ynth371cref2e5ht0ken00000000000000000001",
        "refreshTokenExpiresAt": "2021-11-05T12:15:04.118Z",
        "user": {"id": USER_GUID}}) + "\n")
    write("android/error_401_token_expired.json", dumps({
        "statusCode": 401, "status": 401, "code": 401,
        "message": "Invalid token: access token has expired", "name": "invalid_token"}) + "\n")
    write("android/getlasteventuploaded_1.json", dumps({"maxPumpEventIndex": 412398, "processingStatus": 1}) + "\n")
    write("android/getlasteventuploaded_2.json", dumps({"maxPumpEventIndex": 412431, "processingStatus": 1}) + "\n")
    write("android/patient_info.json", dumps({
        "firstName": "Alex", "lastName": "Sample", "birthDate": "1990-01-01T00:00:00.000Z",
        "emailAddress": "alex.sample@example.invalid", "secretQuestion": "Synthetic question?",
        "secretAnswer": "synthetic", "secretQuestionId": 1}) + "\n")
    write("android/therapythresholds.json", dumps({
        "targetBGHigh": 180, "targetBGLow": 70, "hypoThreshold": 54, "hyperThreshold": 250,
        "siteChangeThreshold": 3, "cartridgeChangeThreshold": 3, "tubingChangeThreshold": 3}) + "\n")
    write("android/user_profile.json", dumps({
        "userID": USER_GUID, "targetBgHigh": 180, "targetBgLow": 70, "hypoThreshold": 54,
        "hyperThreshold": 250, "dateOfBirth": "1990-01-01T00:00:00", "age": 31,
        "patientFullName": "Alex Sample", "caregiverDateOfBirth": None, "hasCGM": True,
        "hasBASALIQ": False, "hasControlIQ": True}) + "\n")

    write("controliq/pumpfeatures.json", dumps([pump_features()]) + "\n")
    write("controliq/error_404.json", dumps({
        "type": "https://tools.ietf.org/html/rfc7231#section-6.5.4", "title": "Not Found", "status": 404,
        "traceId": "00-00000000000000000000000000000001-0000000000000001-00"}) + "\n")
    write("controliq/error_500.json", dumps({"messages": ["An error occurred. Try it again."]}) + "\n")


def window_files(w):
    finalize_boluses(w)
    d = w.name + "/"
    if w.ciq_available:
        write(d + "controliq_therapytimeline.json", render_ciq_timeline(w) + "\n")
        write(d + "controliq_summary.json", render_summary(w) + "\n")
    write(d + "ws2_therapytimeline2csv.csv", render_csv(w))
    write(d + "ws2_basalsuspension.jsonp", render_basalsuspension(w))
    write(d + "ws2_basalsuspension_filterbasal.jsonp", render_basalsuspension(w, filterbasal=True))
    write(d + "ws2_basaliqtech.jsonp", render_basaliqtech(w))
    write(d + "therapyevents.json", render_therapy_events(w) + "\n")


def main(out=HERE):
    global OUT
    OUT = out
    try:
        static_files()
        for w in (window_a(), window_dst(), window_preciq()):
            window_files(w)
    finally:
        OUT = HERE


if __name__ == "__main__":
    ap = argparse.ArgumentParser(description="Regenerate the synthetic t:connect fixtures.")
    ap.add_argument("--out", default=HERE, help="folder to write into (default: next to this script)")
    main(ap.parse_args().out)
