"""The Tandem Source sandbox answers like the real service: its pump-logs answers hold events of
codes without a public definition (the nine our filter asks for), 8 and 27 outside any filter, and
81 once a day when asked for; numbered in the gaps of the sequence, so they renumber nothing."""
import collections
import datetime as dt
import struct

import requests

from tconnectsync.sandbox.scenario import make_scenario
from tconnectsync.sandbox.tandemsource import SandboxPump, TandemSourceSandbox
from tconnectsync.sandbox.tandemsource import extras as X

UTC = dt.timezone.utc
FILTER = ("229,5,28,4,26,562,563,566,99,279,3,16,59,21,55,20,280,64,65,66,61,33,371,171,369,460,172,370,461,372,"
          "480,399,256,213,406,477,394,212,404,214,405,486,447,313,60,14,69,57,6,90,230,140,12,11,53,559,558,565,"
          "564,13,63,203,307,191")


def pump_logs(sb, start, end, codes):
    pump = sb.pumps[0]
    response = requests.get(sb.source_url + "api/reports/bff/pump-logs/" + pump.assignment_id, timeout=30,
                            params={"pumperId": sb.pumper_id, "startDate": start + "T00:00:00Z",
                                    "endDate": end + "T23:59:59Z", "eventCodes": codes},
                            headers={"Authorization": "Bearer " + sb.issue_token(), "Origin": sb.source_origin,
                                     "Referer": sb.source_url})
    assert response.status_code == 200, response.text
    return response.json()["events"]


def scenario():
    return make_scenario(dt.date(2026, 8, 1), dt.date(2026, 8, 3), cutoff=dt.datetime(2026, 8, 4, 6, tzinfo=UTC))


def test_answers_hold_the_codes_the_real_service_sends_and_renumber_nothing():
    with TandemSourceSandbox(scenario()) as sb, TandemSourceSandbox(scenario(), extra_events=False) as plain:
        events = pump_logs(sb, "2026-08-02", "2026-08-02", FILTER)
        clean = pump_logs(plain, "2026-08-02", "2026-08-02", FILTER)
        everything = pump_logs(sb, "2026-08-02", "2026-08-02", "")
    codes = collections.Counter(e["eventCode"] for e in events)
    assert {c: codes[c] for c in X.UNDEFINED_CODES + X.UNFILTERED_CODES} == {
        57: 2, 69: 2, 558: 1, 559: 1, 562: 1, 563: 1, 564: 1, 565: 1, 566: 1, 8: 2, 27: 2}
    assert 81 not in codes                                           # not in the filter
    extra = set(X.UNDEFINED_CODES + X.UNFILTERED_CODES)
    assert [e for e in events if e["eventCode"] not in extra] == clean       # the same numbers and times
    assert not any(e["eventCode"] in extra for e in clean)
    seqs = [e["sequenceNumber"] for e in events]
    assert seqs == sorted(seqs) and len(set(seqs)) == len(seqs)
    assert [e["pumpDateTime"] for e in events] == sorted(e["pumpDateTime"] for e in events)
    (daily,) = [e for e in everything if e["eventCode"] == 81]
    props = daily["eventProperties"]
    assert list(props) == ["dailyTotalBasal", "lastBasalRate", "iob", "batteryLipoMilliVolts",
                           "batteryChargePercent", "finalEventForDay"]
    assert 3700 <= props["batteryLipoMilliVolts"] < 4100 and 20 <= props["batteryChargePercent"] <= 100
    assert props["finalEventForDay"] == 1 and daily["pumpDateTime"] == "2026-08-02T23:30:00"


def test_binary_records_have_the_26_byte_layout_and_81_the_public_body():
    pump = SandboxPump(scenario())
    data = pump.log.records(dt.datetime(2026, 8, 2), dt.datetime(2026, 8, 2, 23, 59, 59))
    events = {e["sequenceNumber"]: e for e in pump.log.events(dt.datetime(2026, 8, 2),
                                                               dt.datetime(2026, 8, 2, 23, 59, 59))}
    assert len(data) % 26 == 0 and len(data) // 26 == 16
    for i in range(0, len(data), 26):
        code, stamp, seq = struct.unpack(">HII", data[i:i + 10])
        e = events[seq]
        assert code == e["eventCode"]
        assert dt.datetime(2008, 1, 1) + dt.timedelta(seconds=stamp) == dt.datetime.fromisoformat(e["pumpDateTime"])
        if code == 81:
            mv, percent, final = struct.unpack(">HBB", data[i + 22:i + 26])
            p = e["eventProperties"]
            assert (mv, percent, final) == (p["batteryLipoMilliVolts"], p["batteryChargePercent"], 1)
    again = SandboxPump(scenario()).log.records(dt.datetime(2026, 8, 2), dt.datetime(2026, 8, 2, 23, 59, 59))
    assert again == data                                             # deterministic bodies
