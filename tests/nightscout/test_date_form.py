"""One date form for every Nightscout: what we send is stored and found again by time.

Runs on every ``nightscout_backend`` (the fake in both flavours, the real 0.12.8 and 15.0.7 when
they can start). The documents come from our own mappers (``sync.documents``, ``sync.iob``,
``sync.cgm``'s shape, the profile step's ``startDate``), so a change of form there shows here.
What the servers do with the space form (``2026-09-18 00:04:20+00:00``) is asserted too: both
accept it in a document, and both fail a query that holds it (0.12.8: HTTP 500, which a proxy in
front reports as 502; 15.0.7: ``null``), the fake like the real ones.
"""
import datetime as dt
import json
import urllib.parse

import pytest

from tconnectsync import timeutil
from tconnectsync.nightscout import ENTERED_BY, NightscoutClient, normalize_for_compare
from tconnectsync.nightscout_form import DATE_FIELDS, date_form, is_sent_form
from tconnectsync.sync import iob
from tconnectsync.sync.documents import created_at, identifier, treatment
from tconnectsync.sync.engine import COMPARED_FIELDS

UTC = dt.timezone.utc
TZ = timeutil.get_zone("America/New_York")
T0 = dt.datetime(2025, 3, 9, 6, 30, tzinfo=UTC)     # 01:30 EST; 08:00 UTC is already EDT (spring forward)
SPACE = "2025-03-10 08:04:20+00:00"


@pytest.fixture
def client(nightscout_backend):
    sent = []                                   # (url, body) of every request the client sent
    client = NightscoutClient(nightscout_backend.url, nightscout_backend.secret, sleep=lambda s: None)
    client.http.session.hooks["response"].append(
        lambda response, *a, **k: sent.append((response.request.url, response.request.body)))
    client.sent = sent
    yield client
    client.http.close()


def dates_sent(client):
    """Every date value the client put in a query or a body."""
    out = []
    for url, body in client.sent:
        for key, value in urllib.parse.parse_qsl(urllib.parse.urlsplit(url).query):
            if key.startswith("find[") and key[5:].split("]")[0] in DATE_FIELDS:
                out.append(value)
        docs = json.loads(body) if body else []
        for doc in docs if isinstance(docs, list) else [docs]:
            out += [doc[k] for k in DATE_FIELDS if isinstance(doc, dict) and k in doc]
    return out


def test_what_we_send_is_stored_and_found_again_by_time(client, nightscout_backend):
    instants = [T0, T0 + dt.timedelta(hours=2), T0 + dt.timedelta(hours=30, seconds=7)]   # EST, EDT
    docs = [treatment("Temp Basal", t, TZ, identifier("12345678", "basal", i), absolute=0.8, rate=0.8, duration=30)
            for i, t in enumerate(instants)]
    assert [d["created_at"] for d in docs] == ["2025-03-09T01:30:00-05:00", "2025-03-09T04:30:00-04:00",
                                               "2025-03-10T08:30:07-04:00"]
    assert client.upload_treatments(docs) == 3
    stored = client.treatments(T0, instants[-1] + dt.timedelta(seconds=1))
    assert sorted(d["created_at"] for d in stored) == [timeutil.iso_utc(t) for t in instants]
    assert sorted(d.get("utcOffset") for d in stored) == [-300, -240, -240]
    assert client.treatments(instants[1], instants[2]) and [d["identifier"] for d in client.treatments(
        instants[1], instants[2])] == [docs[1]["identifier"]]
    assert client.newest_treatment(instants[2])["identifier"] == docs[2]["identifier"]
    # the stored form compares equal to what a re-run would send: nothing to update
    for doc in docs:
        [mine] = [d for d in stored if d["identifier"] == doc["identifier"]]
        want, have = normalize_for_compare(doc), normalize_for_compare(mine)
        assert {k: want.get(k) for k in COMPARED_FIELDS} == {k: have.get(k) for k in COMPARED_FIELDS}
    activity = iob.document(type("Iob", (), {"iob": 1.25, "time": instants[2]})(), "12345678")
    client.upload_activities([activity])
    assert [a["created_at"] for a in client.activities(iob.ACTIVITY_TYPE)] == [timeutil.iso_utc(instants[2])]
    entry = {"type": "sgv", "sgv": 123, "date": int(instants[1].timestamp() * 1000),
             "dateString": created_at(instants[1], TZ), "device": ENTERED_BY}
    client.upload_entries([entry])
    [found] = client.entries(entry["date"], entry["date"])
    assert found["sgv"] == 123 and timeutil.parse_iso_utc(found["dateString"]) == instants[1]
    now = timeutil.iso_utc(instants[2])
    client.upload_profile({"defaultProfile": "A", "startDate": now, "created_at": now, "units": "mg/dl",
                           "enteredBy": ENTERED_BY, "store": {"A": {"dia": 5, "basal": [{"time": "00:00",
                                                                                         "value": 1}]}}})
    assert client.current_profile()["startDate"] == now
    sent = dates_sent(client)
    assert len(sent) >= 12 and all(is_sent_form(v) for v in sent), [v for v in sent if not is_sent_form(v)]


def test_a_date_in_another_form_is_sent_in_ours(client, nightscout_backend):
    client.post_announcement("a note", SPACE)
    client.upload_activities([{"activityType": "probe", "created_at": SPACE, "enteredBy": ENTERED_BY}])
    assert [a["created_at"] for a in client.activities("probe")] == ["2025-03-10T08:04:20+00:00"]
    stored = client.treatments(dt.datetime(2025, 3, 10, 8, tzinfo=UTC), dt.datetime(2025, 3, 10, 9, tzinfo=UTC))
    assert [d["created_at"] for d in stored] == ["2025-03-10T08:04:20.000Z"]
    assert all(is_sent_form(v) for v in dates_sent(client))


def test_the_space_form_is_accepted_in_documents_and_fails_in_queries(nightscout_backend):
    backend = nightscout_backend
    posted = backend.request("POST", "api/v1/treatments", json=[{"eventType": "Note", "notes": "space",
                                                                  "created_at": SPACE, "enteredBy": "probe"}])
    assert posted.status_code == 200 and posted.json()[0]["created_at"] == "2025-03-10T08:04:20.000Z"
    query = [("find[created_at][$gte]", "2025-03-10 08:00:00+00:00"), ("find[created_at][$lt]", "2025-03-11")]
    answer = backend.request("GET", "api/v1/treatments.json", params=query)
    if backend.flavor == "0.12.8":
        assert answer.status_code == 500 and "Cannot parse" in answer.text and "ISO-8601" in answer.text
    else:
        assert answer.status_code == 200 and answer.json() is None
    ours = [(k, date_form(v)) for k, v in query]
    assert [v for _, v in ours] == ["2025-03-10T08:00:00+00:00", "2025-03-11"]
    found = backend.request("GET", "api/v1/treatments.json", params=ours)
    assert found.status_code == 200 and [d["notes"] for d in found.json()] == ["space"]


@pytest.mark.parametrize("value,sent", [
    ("2026-09-18 00:04:20+00:00", "2026-09-18T00:04:20+00:00"),
    ("2026-09-18 02:04:20+0200", "2026-09-18T02:04:20+02:00"),
    ("2026-09-18 00:04:20.5Z", "2026-09-18T00:04:20.500Z"),
    ("2026-09-18T00:04:20-04:00", "2026-09-18T00:04:20-04:00"),
    ("2026-09-18T00:04:20.000Z", "2026-09-18T00:04:20.000Z"),
    (dt.datetime(2026, 9, 18, 0, 4, 20, tzinfo=UTC), "2026-09-18T00:04:20.000Z"),
    ("2026-09-18 00:04:20", "2026-09-18 00:04:20"),          # naive: never guessed, sent as it was
    ("not a date", "not a date"),
])
def test_date_form(value, sent):
    assert date_form(value) == sent
