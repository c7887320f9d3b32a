"""The CLI against the recorded fixture windows, checked against the worked examples of
docs/tconnect.md §10.7, with the bugs of its §12 fixed."""
import os
import subprocess
import sys

import pytest

from tconnectsync import timeutil
from tconnectsync.sandbox.nightscout import FakeNightscout
from tconnectsync.sandbox.tconnect import TandemLegacySandbox

from tests import data

from .conftest import REPO

FIXTURES = str(data.TCONNECT)
SECRET = "fixture-nightscout-secret"
NY = timeutil.get_zone("America/New_York")


@pytest.fixture
def fixture_run(tmp_path):
    with TandemLegacySandbox(fixtures_dir=FIXTURES, email="alex@example.com", password="pw") as tandem, \
            FakeNightscout(api_secret=SECRET, flavor="15.0.7") as ns:
        def run(start, end, *features):
            env = {k: v for k, v in os.environ.items() if not k.startswith(("TCONNECT", "NS_", "PUMP_"))}
            env.update({"TCONNECT_API": "legacy", "TCONNECT_EMAIL": "alex@example.com", "TCONNECT_PASSWORD": "pw",
                        "PUMP_SERIAL_NUMBER": "11111111", "NS_URL": ns.url, "NS_SECRET": SECRET,
                        "TIMEZONE_NAME": "America/New_York", "TCONNECT_WEB_URL": tandem.web_url,
                        "TCONNECT_WS2_URL": tandem.ws2_url, "TCONNECT_SERVICES_URL": tandem.services_url,
                        "HOME": str(tmp_path), "PYTHONPATH": REPO})
            proc = subprocess.run([sys.executable, "-m", "tconnectsync", "--start-date", start, "--end-date", end,
                                   "--features", *features], env=env, cwd=str(tmp_path),
                                  capture_output=True, text=True, timeout=120)
            assert proc.returncode == 0, proc.stdout + proc.stderr
            return proc, ns
        yield run


def local(doc):
    return timeutil.parse_iso_utc(doc["created_at"]).astimezone(NY).strftime("%Y-%m-%d %H:%M:%S%z")


def find(ns, event_type, when):
    return [d for d in ns.treatments() if d["eventType"] == event_type and local(d) == when]


def test_main_window_matches_the_worked_examples(fixture_run):
    proc, ns = fixture_run("2021-10-20", "2021-10-21", "BASAL", "BOLUS", "IOB", "PUMP_EVENTS")
    # Example 1: Control-IQ suspension
    [d] = find(ns, "Temp Basal", "2021-10-20 01:16:17-0400")
    assert d["reason"] == "algorithmDelivery (control-iq suspension)" and d["duration"] == 25 and d["absolute"] == 0
    # Example 2: manual suspension as a zero-rate basal, and as a pump event
    [d] = find(ns, "Temp Basal", "2021-10-20 16:10:05-0400")
    assert d["reason"] == "manual suspension" and d["duration"] == pytest.approx(38.42, abs=0.01)
    # ... which the old tool hid behind the next day's empty-cartridge suspension
    assert [x["reason"] for x in find(ns, "Basal Suspension", "2021-10-20 16:10:05-0400")] == ["User Suspended"]
    assert [x["reason"] for x in find(ns, "Basal Suspension", "2021-10-21 13:06:02-0400")] == \
        ["Empty Cartridge/Pump Shutdown"]
    # the 0 U/h temp rate (dropped by the old tool)
    [d] = find(ns, "Temp Basal", "2021-10-21 09:30:00-0400")
    assert d["reason"] == "tempDelivery" and d["absolute"] == 0 and d["duration"] == 20
    # Example 3: the extended bolus reports both parts
    [d] = find(ns, "Combo Bolus", "2021-10-20 18:31:40-0400")
    assert d["insulin"] == 2.5 and d["enteredinsulin"] == 5 and d["carbs"] == 40
    assert d["duration"] == 120 and d["relative"] == 1.25
    [d] = find(ns, "Combo Bolus", "2021-10-20 07:44:05-0400")
    assert d["insulin"] == 6.41 and d["carbs"] == 45 and d["notes"] == "Standard/Correction"
    [d] = find(ns, "Combo Bolus", "2021-10-21 13:07:52-0400") or [x for x in ns.treatments()
                                                                  if x.get("insulin") == 1.45]
    assert d["notes"] == "Standard (Terminated by Alarm: requested 3.00 units)"
    assert not [x for x in ns.treatments() if x["eventType"] == "Combo Bolus" and "User Aborted" in x.get("notes", "")]
    # Example 4: sleep, exercise, site change, IOB
    assert [x["duration"] for x in find(ns, "Sleep", "2021-10-20 00:30:14-0400")] == [389.8]
    assert [x["duration"] for x in find(ns, "Exercise", "2021-10-20 17:30:00-0400")] == [45]
    assert len(find(ns, "Site Change", "2021-10-21 13:41:27-0400")) == 1
    [iob] = ns.activity()
    assert iob["activityType"] == "tconnect_iob"
    assert timeutil.parse_iso_utc(iob["created_at"]).astimezone(NY).strftime("%H:%M:%S") == "23:55:19"
    boluses = [x for x in ns.treatments() if x["eventType"] == "Combo Bolus"]
    assert len(boluses) == 8           # 9 in the fixture, one aborted with nothing delivered


def test_dst_window_matches_the_worked_example(fixture_run):
    proc, ns = fixture_run("2021-11-06", "2021-11-07", "BASAL", "BOLUS", "PUMP_EVENTS")
    # Control:IQ suspension in the second 01:xx hour
    [d] = [x for x in ns.treatments() if x["eventType"] == "Temp Basal" and x["created_at"] == "2021-11-07T06:15:05.000Z"]
    assert "control-iq suspension" in d["reason"]
    # the automatic bolus completed 01:48:06 EST (the old tool put it an hour early)
    autos = sorted(x["created_at"] for x in ns.treatments()
                   if x["eventType"] == "Combo Bolus" and "Automatic" in x.get("notes", ""))
    assert "2021-11-07T06:48:06.000Z" in autos and "2021-11-07T05:48:06.000Z" not in autos
    # the suspension across midnight is two non-overlapping zero-rate segments
    zero = sorted((x["created_at"], x["duration"]) for x in ns.treatments()
                  if x["eventType"] == "Temp Basal" and x.get("reason") == "manual suspension")
    assert zero == [("2021-11-07T03:40:12.000Z", pytest.approx(19.8, abs=0.01)),
                    ("2021-11-07T04:00:00.000Z", pytest.approx(25.67, abs=0.01))]
    # the sleep across the change lasts its real 449.8 minutes
    sleeps = {local(x): x["duration"] for x in ns.treatments() if x["eventType"] == "Sleep"}
    assert sleeps["2021-11-07 00:30:14-0400"] == 449.8
    # the extended bolus still running is uploaded, marked in progress
    [ext] = [x for x in ns.treatments() if x["eventType"] == "Combo Bolus" and "Extended" in x.get("notes", "")]
    assert "in progress" in ext["notes"] and ext["insulin"] == 2


def test_pre_control_iq_window(fixture_run):
    proc, ns = fixture_run("2020-01-14", "2020-01-15", "BASAL", "BOLUS")
    basal = sorted((local(x), x["absolute"], x["duration"]) for x in ns.treatments() if x["eventType"] == "Temp Basal")
    assert basal[0] == ("2020-01-14 00:00:00-0500", 0.8, 360)
    assert ("2020-01-15 11:20:40-0500", 0, pytest.approx(31.38, abs=0.01)) in basal
    assert len([x for x in ns.treatments() if x["eventType"] == "Combo Bolus"]) == 2
