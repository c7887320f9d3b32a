"""One mapper per feature: a bolus becomes the same Combo Bolus whichever backend read it.

Tandem Source's events are grouped into a ``records.Bolus`` by the parser
(``parser/tandemsource/boluses.py``); t:connect's parser yields the same record; ``sync/bolus.py``
alone maps it. Here the same pump history is read both ways: by hand-made records of one bolus,
and end to end from one sandbox scenario served by both Tandem sandboxes over real HTTP."""
import datetime as dt
import tempfile

from tconnectsync import timeutil
from tconnectsync.config import Config
from tconnectsync.parser import tandemsource
from tconnectsync.parser.records import Bolus
from tconnectsync.parser.tandemsource.boluses import boluses
from tconnectsync.runtime import build_clients, close_clients
from tconnectsync.sandbox.nightscout import FakeNightscout
from tconnectsync.sandbox.scenario import make_scenario
from tconnectsync.sandbox.tandemsource import TandemSourceSandbox
from tconnectsync.sandbox.tconnect import TandemLegacySandbox
from tconnectsync.sync.bolus import combo_bolus
from tconnectsync.sync.engine import sync_once

from tests.parser._source import NEW_YORK, SERIAL, ev
from tests.sync.test_tandemsource_docs import bolus_events

EMAIL, PASSWORD, SECRET = "contract@example.com", "contract-password", "contract-nightscout-secret"
TZ_NAME = "America/New_York"
# What both backends carry for every bolus (notes come from each API's own wording of the
# options, and only Tandem Source names the pump events).
SHARED = ("eventType", "created_at", "identifier", "enteredBy", "insulin", "carbs", "glucose", "units",
          "enteredinsulin", "splitNow", "splitExt")


def at(text):
    return timeutil.localize(dt.datetime.fromisoformat(text), NEW_YORK)


def source_record(events):
    records, warnings = tandemsource.parse(events, NEW_YORK)
    assert warnings == []
    (record,) = boluses(records)
    return record


def test_an_extended_bolus_read_by_either_backend_is_the_same_combo_bolus():
    events = bolus_events(11, 10, "2026-08-12T12:00:00", carbs=60, bg=150, options=1, percent=40, duration=180,
                          delivered=2.0, total=5.0, done="2026-08-12T12:00:40")
    events += [ev(59, 20, "2026-08-12T12:00:05", bolusId=11, bolexSize=3.0, iob=0.0),
               ev(21, 31, "2026-08-12T15:00:05", bolusId=11, completionStatus=3, insulinDelivered=2.5,
                  insulinRequested=3.0, iob=1.0)]
    from_source = source_record(events)
    # The same bolus as t:connect's therapy events describe it.
    from_tconnect = Bolus(request_id="11", request_time=at("2026-08-12T12:00:00"), description="Extended Bolus",
                          options="Extended", automatic=False, total_requested=5.0, carbs=60, bg=150,
                          user_override=False, completion_time=at("2026-08-12T12:00:40"), delivered=2.0,
                          status="Completed", complete=True, extended=True, extended_requested=3.0,
                          extended_start=at("2026-08-12T12:00:05"), extended_end=at("2026-08-12T15:00:05"),
                          extended_delivered=2.5, extended_status="Completed", extended_complete=True,
                          duration_min=180, standard_percent=40)
    source_doc, skip = combo_bolus(from_source, SERIAL, NEW_YORK)
    tconnect_doc, _ = combo_bolus(from_tconnect, SERIAL, NEW_YORK)
    assert skip is None
    assert source_doc.pop("pump_event_id") == "13,31,10,11,12"
    assert source_doc == tconnect_doc
    assert source_doc["notes"] == "Extended Bolus (Extended: 2.00 U now + 2.50 U over 180 min, completed)"
    assert (source_doc["insulin"], source_doc["carbs"], source_doc["glucose"], source_doc["relative"]) == (2.0, 60, 150,
                                                                                                         0.833)


def test_a_bolus_whose_request_lies_before_the_data_has_no_carbs_rather_than_zero():
    events = bolus_events(12, 10, "2026-08-12T12:00:00", carbs=30, delivered=1.5)
    record = source_record(events[3:])                  # only the completion was read
    doc, _ = combo_bolus(record, SERIAL, NEW_YORK)
    assert not record.request_seen and "carbs" not in doc and doc["insulin"] == 1.5
    doc, _ = combo_bolus(source_record(events), SERIAL, NEW_YORK)
    assert doc["carbs"] == 30


def _boluses_synced(cls, api, scenario, window, tmp):
    with cls(scenario, email=EMAIL, password=PASSWORD) as tandem, \
            FakeNightscout(api_secret=SECRET, flavor="15.0.7") as ns:
        values = dict(email=EMAIL, password=PASSWORD, pump_serial=scenario.serial, ns_url=ns.url, ns_secret=SECRET,
                      timezone_name=TZ_NAME, api=api, services_url=tandem.services_url, http_timeout=10.0)
        if api == "source":
            values.update(region=tandem.region, sso_url=tandem.sso_url, source_url=tandem.source_url,
                          token_file=tmp + "/tokens.json")
        else:
            values.update(web_url=tandem.web_url, ws2_url=tandem.ws2_url, chunk_days=2)
        config = Config(**values)
        clients = build_clients(config)
        try:
            summary = sync_once(config, clients, window, ("BOLUS",))
        finally:
            close_clients(clients)
        assert summary.ok, summary.failures
        return {d["identifier"]: d for d in ns.treatments() if d["eventType"] == "Combo Bolus"}


def test_the_same_pump_history_gives_the_same_combo_boluses_from_both_backends():
    start, end = dt.date(2024, 6, 2), dt.date(2024, 6, 3)
    tz = timeutil.get_zone(TZ_NAME)
    docs = {}
    for cls, api in ((TandemSourceSandbox, "source"), (TandemLegacySandbox, "legacy")):
        scenario = make_scenario(start, end, tz_name=TZ_NAME, seed=5, cutoff=timeutil.day_bounds_utc(end, tz)[1])
        docs[api] = _boluses_synced(cls, api, scenario, (start, end), tempfile.mkdtemp())
    source, tconnect = docs["source"], docs["legacy"]
    assert len(source) > 10 and source.keys() == tconnect.keys()
    for ident, doc in source.items():
        assert {k: doc.get(k) for k in SHARED} == {k: tconnect[ident].get(k) for k in SHARED}
