"""The Nightscout client's observable behaviour, the same on every backend.

Runs against the fake (flavours 0.12.8 and 15.0.7) and a real Nightscout 0.12.8 (see
conftest.py). Dates are in 2025, far outside the server's implicit 4-day window, so a query
that forgot its explicit range would find nothing.
"""
import datetime as dt
import logging
import traceback

import pytest

from tconnectsync.errors import NightscoutAuthError
from tconnectsync.nightscout import ENTERED_BY, NightscoutClient, hash_secret, normalize_for_compare

UTC = dt.timezone.utc
T0 = dt.datetime(2025, 3, 10, 8, 0, tzinfo=UTC)


def at(minutes, seconds=0):
    return T0 + dt.timedelta(minutes=minutes, seconds=seconds)


def iso(moment):
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.") + "%03dZ" % (moment.microsecond // 1000)


def temp_basal(minutes, rate=0.8, duration=5, **extra):
    doc = {"eventType": "Temp Basal", "created_at": iso(at(minutes)), "absolute": rate, "rate": rate,
           "duration": duration, "enteredBy": ENTERED_BY, "reason": "test"}
    doc.update(extra)
    return doc


@pytest.fixture
def client(nightscout_backend):
    urls = []
    client = NightscoutClient(nightscout_backend.url, nightscout_backend.secret, sleep=lambda s: None)
    client.http.session.hooks["response"].append(lambda response, *a, **k: urls.append(response.request.url))
    client.sent_urls = urls
    yield client
    client.http.close()


def by_key(docs):
    return {(d["created_at"], d["eventType"]): d for d in docs}


# ------------------------------------------------------------------ status and auth

def test_verify_auth_with_the_right_secret(client):
    assert client.verify_auth() == {"ok": True, "can_write": True, "message": "OK"}


def test_verify_auth_with_a_wrong_secret(nightscout_backend):
    wrong = NightscoutClient(nightscout_backend.url, "not-the-right-secret", sleep=lambda s: None)
    result = wrong.verify_auth()
    assert result["ok"] is False
    assert result["message"] == "UNAUTHORIZED"
    assert not result["can_write"]


def test_status_reports_the_version(client, nightscout_backend):
    status = client.status()
    assert status["version"] == nightscout_backend.flavor
    assert status["status"] == "ok"
    assert status["careportalEnabled"] is True


# ------------------------------------------------------------------ upload and read back

def test_upload_array_and_read_back_normalised(client, nightscout_backend):
    docs = [
        {"eventType": "Temp Basal", "created_at": "2025-03-10T10:00:00+01:00", "duration": 30,
         "absolute": 0.4, "rate": 0.4, "enteredBy": ENTERED_BY},
        {"eventType": "Combo Bolus", "created_at": "2025-03-10T09:30:00.250Z", "insulin": 3.2,
         "carbs": 40, "enteredBy": ENTERED_BY, "notes": "meal"},
        {"eventType": "Site Change", "created_at": "2025-03-10T12:15:00-05:00", "enteredBy": ENTERED_BY},
    ]
    assert client.upload_treatments(docs) == 3
    got = client.treatments(T0, T0 + dt.timedelta(days=1))
    assert [d["created_at"] for d in got] == [
        "2025-03-10T09:00:00.000Z", "2025-03-10T09:30:00.250Z", "2025-03-10T17:15:00.000Z"]
    basal, bolus, site = got
    assert basal["utcOffset"] == 60 and bolus["utcOffset"] == 0 and site["utcOffset"] == -300
    assert basal["carbs"] is None and basal["insulin"] is None
    assert basal["absolute"] == 0.4 and basal["duration"] == 30
    assert bolus["insulin"] == 3.2 and bolus["carbs"] == 40 and bolus["notes"] == "meal"
    assert site["carbs"] is None and site["insulin"] is None
    assert all(len(d["_id"]) == 24 for d in got)
    assert len(nightscout_backend.stored_treatments()) == 3


def test_reupload_of_the_same_documents_adds_nothing(client, nightscout_backend):
    docs = [temp_basal(i * 5, rate=0.1 * i) for i in range(12)]
    client.upload_treatments(docs)
    first = client.treatments(T0, at(60))
    client.upload_treatments(docs)
    second = client.treatments(T0, at(60))
    assert len(first) == len(second) == 12
    assert sorted(d["_id"] for d in first) == sorted(d["_id"] for d in second)
    assert len(nightscout_backend.stored_treatments()) == 12


def test_same_instant_and_event_type_is_one_record_replaced_whole(client, nightscout_backend):
    client.upload_treatments([{"eventType": "Correction Bolus", "created_at": "2025-03-10T10:00:00Z",
                               "insulin": 2.0, "notes": "first", "enteredBy": ENTERED_BY}])
    # the same instant written with another offset, different content, no notes
    client.upload_treatments([{"eventType": "Correction Bolus", "created_at": "2025-03-10T11:00:00+01:00",
                               "insulin": 2.5, "enteredBy": ENTERED_BY}])
    stored = nightscout_backend.stored_treatments()
    assert len(stored) == 1
    assert stored[0]["insulin"] == 2.5
    assert "notes" not in stored[0]              # whole-document replace
    assert stored[0]["utcOffset"] == 60


def test_different_event_types_at_one_instant_are_separate(client, nightscout_backend):
    client.upload_treatments([
        {"eventType": "Site Change", "created_at": iso(at(0)), "enteredBy": ENTERED_BY},
        {"eventType": "Insulin Change", "created_at": iso(at(0)), "enteredBy": ENTERED_BY},
    ])
    assert len(client.treatments(T0, at(1))) == 2


def test_identifier_behaviour_per_flavor(client, nightscout_backend):
    client.upload_treatments([temp_basal(0, identifier="serial-1-basal-42")])
    # The same identifier, a later created_at (the segment's start was corrected).
    client.upload_treatments([temp_basal(3, rate=0.5, identifier="serial-1-basal-42")])
    stored = nightscout_backend.stored_treatments()
    if nightscout_backend.flavor == "15.0.7":
        # 15.0.7 upserts on identifier: the record is updated in place.
        assert len(stored) == 1
        assert stored[0]["created_at"] == iso(at(3)) and stored[0]["absolute"] == 0.5
    else:
        # 0.12.8 (and <= 15.0.6) key on created_at + eventType only: identifier is just a field,
        # so a changed created_at makes a second record; the engine must delete the old one.
        assert len(stored) == 2
        assert {d["created_at"] for d in stored} == {iso(at(0)), iso(at(3))}
        assert all(d["identifier"] == "serial-1-basal-42" for d in stored)


def test_update_treatment_replaces_the_document(client, nightscout_backend):
    client.upload_treatments([{"eventType": "Site Change", "created_at": iso(at(0)),
                               "enteredBy": ENTERED_BY, "notes": "before"}])
    (doc,) = client.treatments(T0, at(1))
    changed = {"_id": doc["_id"], "eventType": "Site Change", "created_at": doc["created_at"],
               "enteredBy": ENTERED_BY, "notes": "after", "reason": "edited"}
    client.update_treatment(changed)
    (after,) = client.treatments(T0, at(1))
    assert after["_id"] == doc["_id"]
    assert after["notes"] == "after" and after["reason"] == "edited"
    assert len(nightscout_backend.stored_treatments()) == 1


def test_delete_treatment(client, nightscout_backend):
    client.upload_treatments([temp_basal(0), temp_basal(5), temp_basal(10)])
    docs = client.treatments(T0, at(60))
    client.delete_treatment(docs[1]["_id"])
    left = client.treatments(T0, at(60))
    assert [d["_id"] for d in left] == [docs[0]["_id"], docs[2]["_id"]]


def test_delete_treatment_refuses_a_wildcard_id(client):
    with pytest.raises(ValueError):
        client.delete_treatment("*")


def test_post_announcement(client, nightscout_backend):
    client.post_announcement("tconnectsync started", at(0))
    (doc,) = client.treatments(T0, at(1), event_type="Announcement")
    assert doc["notes"] == "tconnectsync started"
    assert doc["enteredBy"] == ENTERED_BY
    assert doc["isAnnouncement"] is True


def test_upload_is_batched(client, nightscout_backend):
    client.batch_size = 3
    before = len(client.sent_urls)
    assert client.upload_treatments([temp_basal(i) for i in range(8)]) == 8
    posts = client.sent_urls[before:]
    assert len(posts) == 3
    assert len(nightscout_backend.stored_treatments()) == 8
    assert client.upload_treatments([]) == 0
    assert len(client.sent_urls) == before + 3


# ------------------------------------------------------------------ queries

def test_paging_returns_every_document_exactly_once(client, nightscout_backend):
    client.page_size = 7
    docs = [temp_basal(i, rate=round(0.05 * i, 2)) for i in range(30)]
    # Four documents share one instant at the first page boundary (positions 5-8) ...
    docs[5:5] = [{"eventType": kind, "created_at": iso(at(5)), "enteredBy": ENTERED_BY}
                 for kind in ("Site Change", "Insulin Change", "Note")]
    # ... and more documents share another instant than a page holds.
    docs += [{"eventType": "Note %d" % n, "created_at": iso(at(20, 30)), "enteredBy": ENTERED_BY,
              "notes": "crowded %d" % n} for n in range(10)]
    client.upload_treatments(docs)
    assert len(nightscout_backend.stored_treatments()) == 43
    before = client.request_count
    got = client.treatments(T0, at(60))
    assert len(got) == 43
    assert len({d["_id"] for d in got}) == 43
    assert [d["created_at"] for d in got] == sorted(d["created_at"] for d in got)
    assert client.request_count - before <= 12


def test_range_is_start_inclusive_end_exclusive(client):
    start, end = at(10), at(20)
    client.upload_treatments([
        {"eventType": "Note", "created_at": iso(start - dt.timedelta(milliseconds=1)), "enteredBy": ENTERED_BY},
        {"eventType": "Note", "created_at": iso(start), "enteredBy": ENTERED_BY},
        {"eventType": "Note", "created_at": iso(end - dt.timedelta(milliseconds=1)), "enteredBy": ENTERED_BY},
        {"eventType": "Note", "created_at": iso(end), "enteredBy": ENTERED_BY},
    ])
    got = client.treatments(start, end)
    assert [d["created_at"] for d in got] == [iso(start), iso(end - dt.timedelta(milliseconds=1))]
    # the range may be given in any offset
    plus_two = dt.timezone(dt.timedelta(hours=2))
    assert len(client.treatments(start.astimezone(plus_two), end.astimezone(plus_two))) == 2
    assert client.treatments(end, start) == []


def test_filters_on_entered_by_and_event_type(client):
    client.upload_treatments([
        temp_basal(0),
        {"eventType": "Temp Basal", "created_at": iso(at(1)), "enteredBy": "someone else", "absolute": 1},
        {"eventType": "Site Change", "created_at": iso(at(2)), "enteredBy": ENTERED_BY},
        {"eventType": "Note", "created_at": iso(at(3)), "enteredBy": "Pump (tconnectsync) copy"},
    ])
    assert {d["eventType"] for d in client.treatments(T0, at(10))} == {"Temp Basal", "Site Change"}
    (basal,) = client.treatments(T0, at(10), event_type="Temp Basal")
    assert basal["enteredBy"] == ENTERED_BY
    assert len(client.treatments(T0, at(10), entered_by="someone else")) == 1


# ------------------------------------------------------------------ activity

def test_activities_upload_list_delete(client, nightscout_backend):
    docs = [
        {"activityType": "tconnect_iob", "iob": 1.5, "created_at": "2025-03-10T10:00:00-04:00",
         "enteredBy": ENTERED_BY},
        {"activityType": "tconnect_iob", "iob": 2.0, "created_at": "2025-03-10T15:00:00.000Z",
         "enteredBy": ENTERED_BY},
        {"activityType": "Sleep", "created_at": "2025-03-10T16:00:00.000Z", "enteredBy": ENTERED_BY},
        {"activityType": "tconnect_iob", "iob": 9, "created_at": "2025-03-10T17:00:00.000Z",
         "enteredBy": "someone else"},
    ]
    assert client.upload_activities(docs) == 4
    iob = client.activities("tconnect_iob")
    assert [d["iob"] for d in iob] == [2, 1.5]                                 # newest first
    assert iob[1]["created_at"] == "2025-03-10T10:00:00-04:00"                 # stored as sent
    client.delete_activity(iob[0]["_id"])
    assert [d["iob"] for d in client.activities("tconnect_iob")] == [1.5]
    assert len(client.activities("Sleep")) == 1
    assert len(nightscout_backend.stored_activity()) == 3


# ------------------------------------------------------------------ normalize_for_compare

COMPARE_CASES = [
    # zero-rate temp basal: absolute 0 is kept
    {"eventType": "Temp Basal", "created_at": "2025-03-10T09:00:00+01:00", "absolute": 0, "rate": 0,
     "duration": 30, "reason": "suspend", "enteredBy": ENTERED_BY},
    # floats that are whole numbers, carbs 0, empty notes, duration None
    {"eventType": "Combo Bolus", "created_at": "2025-03-10T08:05:00Z", "insulin": 5.0, "carbs": 0,
     "notes": "", "duration": None, "relative": 0, "splitNow": 100.0, "enteredBy": ENTERED_BY},
    # numbers sent as strings, glucose with units
    {"eventType": "Meal Bolus", "created_at": "2025-03-10T08:10:00.123Z", "insulin": "1.25",
     "carbs": "30", "glucose": 143, "glucoseType": "Finger", "units": "mg/dl", "enteredBy": ENTERED_BY},
    # glucose 0 takes glucoseType and units with it; percent 0 removed; targets None removed
    {"eventType": "BG Check", "created_at": "2025-03-10T08:15:00Z", "glucose": 0, "glucoseType": "Sensor",
     "units": "mg/dl", "percent": 0, "targetTop": None, "targetBottom": None, "enteredBy": ENTERED_BY},
    # naive time (UTC), nested values, an identifier, a null field that is kept
    {"eventType": "Site Change", "created_at": "2025-03-10 08:20:00", "identifier": "abc-1",
     "pump": {"serial": "11111111", "volume": 200.0}, "rate": None, "enteredBy": ENTERED_BY},
    # plain bolus with notes, negative offset with milliseconds
    {"eventType": "Correction Bolus", "created_at": "2025-03-10T03:25:00.500-05:00", "insulin": 0.05,
     "notes": "Standard bolus", "enteredBy": ENTERED_BY},
    {"eventType": "Announcement", "created_at": "2025-03-10T08:30:00Z", "notes": "hello",
     "enteredBy": ENTERED_BY},
]


def test_normalize_for_compare_predicts_the_stored_document(client, nightscout_backend):
    client.upload_treatments(COMPARE_CASES)
    stored = client.treatments(T0, at(60))
    assert len(stored) == len(COMPARE_CASES)
    stored_by_key = by_key(normalize_for_compare(d) for d in stored)
    for doc in COMPARE_CASES:
        want = normalize_for_compare(doc)
        assert stored_by_key[(want["created_at"], want["eventType"])] == want
    # and what the server stored compares equal to itself after a second round trip
    client.upload_treatments(COMPARE_CASES)
    again = by_key(normalize_for_compare(d) for d in client.treatments(T0, at(60)))
    assert again == stored_by_key


def test_normalize_for_compare_examples():
    got = normalize_for_compare({"_id": "x" * 24, "utcOffset": 60, "mills": 1, "eventType": "Temp Basal",
                                 "created_at": "2025-03-10T09:00:00+01:00", "absolute": 0.0,
                                 "duration": 5.0, "carbs": None, "insulin": None})
    assert got == {"eventType": "Temp Basal", "created_at": "2025-03-10T08:00:00.000Z",
                   "absolute": 0, "duration": 5}
    assert normalize_for_compare({"created_at": "2025-03-10T08:00:00Z", "duration": None,
                                  "absolute": "abc"}) == {"created_at": "2025-03-10T08:00:00.000Z",
                                                          "duration": 0}
    aware = dt.datetime(2025, 3, 10, 9, 0, 0, 1500, tzinfo=dt.timezone(dt.timedelta(hours=1)))
    assert normalize_for_compare({"created_at": aware})["created_at"] == "2025-03-10T08:00:00.001Z"


# ------------------------------------------------------------------ secrets

def test_wrong_secret_raises_auth_error_without_leaking_it(nightscout_backend, caplog):
    secret = "a-wrong-secret-of-some-length"
    wrong = NightscoutClient(nightscout_backend.url, secret, sleep=lambda s: None)
    caplog.set_level(logging.DEBUG)
    with pytest.raises(NightscoutAuthError) as info:
        wrong.treatments(T0, at(60))
    with pytest.raises(NightscoutAuthError) as info_upload:
        wrong.upload_treatments([temp_basal(0)])
    for exc in (info.value, info_upload.value):
        assert exc.status == 401
        text = str(exc) + repr(exc) + "".join(traceback.format_exception(type(exc), exc, exc.__traceback__))
        assert "NS_SECRET" in str(exc)
        for needle in (secret, hash_secret(secret), nightscout_backend.secret,
                       hash_secret(nightscout_backend.secret)):
            assert needle not in text
            assert needle not in caplog.text
    assert secret not in repr(wrong)
    assert nightscout_backend.stored_treatments() == []


def test_secret_never_travels_in_a_url(client, nightscout_backend, caplog):
    caplog.set_level(logging.DEBUG)
    client.status()
    client.verify_auth()
    client.upload_treatments([temp_basal(0)])
    (doc,) = client.treatments(T0, at(5))
    client.update_treatment(dict(doc, notes="x"))
    client.delete_treatment(doc["_id"])
    client.upload_activities([{"activityType": "t", "created_at": iso(at(0)), "enteredBy": ENTERED_BY}])
    client.delete_activity(client.activities("t")[0]["_id"])
    secret, digest = nightscout_backend.secret, hash_secret(nightscout_backend.secret)
    urls = list(client.sent_urls)
    if nightscout_backend.fake is not None:
        urls += [path for _method, path in nightscout_backend.fake.request_log]
    assert len(urls) >= 8
    for url in urls:
        assert secret not in url and digest not in url
        assert "secret" not in url.lower() and "token" not in url.lower()
    assert secret not in caplog.text and digest not in caplog.text


# ------------------------------------------------------------------ entries (CGM) and profiles

def sgv(minutes, value, device=ENTERED_BY):
    moment = at(minutes)
    return {"type": "sgv", "sgv": value, "date": int(moment.timestamp() * 1000), "dateString": iso(moment),
            "device": device}


def test_entries_upload_batched_and_read_back_by_date_range(nightscout_backend):
    client = NightscoutClient(nightscout_backend.url, nightscout_backend.secret, batch_size=2, sleep=lambda s: None)
    try:
        assert client.upload_entries([sgv(0, 100), sgv(5, 110), sgv(10, 120), sgv(60, 200, device="xDrip")]) == 4
        lo, hi = sgv(0, 0)["date"], sgv(10, 0)["date"]
        inside = client.entries(lo, hi)
        assert sorted((e["date"], e["sgv"]) for e in inside) == [(lo, 100), (lo + 300000, 110), (hi, 120)]
        assert [e["sgv"] for e in client.entries(hi + 1, hi + 3600 * 1000)] == [200]      # any device
        assert client.entries(lo, hi, entry_type="mbg") == []
    finally:
        client.http.close()


def test_profile_add_read_current_and_update_in_place(client):
    assert client.current_profile() is None and client.profiles() == []
    store = {"Day": {"dia": 5, "basal": [{"time": "00:00", "timeAsSeconds": 0, "value": 0.8}], "units": "mg/dl",
                     "timezone": "UTC"}}
    doc = {"defaultProfile": "Day", "store": store, "startDate": iso(at(0)), "created_at": iso(at(0)),
           "units": "mg/dl", "enteredBy": ENTERED_BY}
    client.upload_profile(doc)
    current = client.current_profile()
    assert current["defaultProfile"] == "Day" and current["store"]["Day"]["basal"][0]["value"] == 0.8
    assert [p["_id"] for p in client.profiles()] == [current["_id"]]
    changed = dict(current, store={"Day": dict(store["Day"], dia=4)})
    changed.pop("mills", None)
    client.update_profile(changed)
    again = client.current_profile()
    assert again["_id"] == current["_id"] and again["store"]["Day"]["dia"] == 4 and len(client.profiles()) == 1
    with pytest.raises(ValueError):
        client.update_profile(dict(changed, _id="*"))
