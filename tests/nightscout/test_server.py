"""What the servers themselves answer, with plain HTTP: the fake must match the real one.

Each test runs on fake-0.12.8, fake-15.0.7 and the real 0.12.8 and 15.0.7 (when installed, see
conftest.py); expectations that differ by version are written per flavour (docs/nightscout.md).
"""
import datetime as dt
import hashlib

import pytest

UTC = dt.timezone.utc
JSON = {"Content-Type": "application/json"}


def post(backend, docs, path="api/v1/treatments"):
    response = backend.request("POST", path, json=docs)
    assert response.status_code == 200, response.text[:300]
    return response.json()


def get(backend, path="api/v1/treatments.json", **params):
    return backend.request("GET", path, params=params)


def iso(moment):
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.") + "%03dZ" % (moment.microsecond // 1000)


def test_post_answers_processed_objects_and_dedup_hits_have_no_id(nightscout_backend):
    first = post(nightscout_backend, [
        {"eventType": "Temp Basal", "created_at": "2025-03-10T11:00:00+01:00", "duration": "30",
         "absolute": 0, "rate": 0.4, "carbs": 0, "notes": "", "x": 5.0},
        {"eventType": "Meal Bolus", "created_at": "2025-03-10 10:00:00", "insulin": "3.2", "carbs": 40,
         "glucose": 0, "glucoseType": "Finger", "units": "mg/dl", "duration": None, "absolute": "n/a"},
    ])
    assert [set(doc) for doc in first] == [
        {"eventType", "created_at", "duration", "absolute", "rate", "x", "utcOffset", "_id"},
        {"eventType", "created_at", "insulin", "carbs", "duration", "utcOffset", "_id"}]
    basal, bolus = first
    assert basal["created_at"] == "2025-03-10T10:00:00.000Z" and basal["utcOffset"] == 60
    assert basal["duration"] == 30 and basal["absolute"] == 0 and basal["x"] == 5
    assert bolus["insulin"] == 3.2 and bolus["duration"] == 0 and bolus["utcOffset"] == 0
    again = post(nightscout_backend, {"eventType": "Temp Basal", "created_at": "2025-03-10T10:00:00Z",
                                      "duration": 10})
    assert len(again) == 1 and "_id" not in again[0]
    stored = nightscout_backend.stored_treatments()
    assert len(stored) == 2
    (replaced,) = [d for d in stored if d["eventType"] == "Temp Basal"]
    assert replaced["_id"] == basal["_id"] and replaced["duration"] == 10 and "rate" not in replaced
    assert post(nightscout_backend, []) == []


def test_get_adds_null_carbs_and_insulin(nightscout_backend):
    post(nightscout_backend, {"eventType": "Site Change", "created_at": "2025-03-10T10:00:00Z"})
    (doc,) = nightscout_backend.stored_treatments()
    assert doc["carbs"] is None and doc["insulin"] is None


def test_implicit_four_day_window(nightscout_backend):
    recent = iso(dt.datetime.now(UTC) - dt.timedelta(hours=1))
    post(nightscout_backend, [{"eventType": "Note", "created_at": recent, "enteredBy": "w"},
                              {"eventType": "Note", "created_at": "2025-03-10T10:00:00Z", "enteredBy": "w"}])
    assert [d["created_at"] for d in get(nightscout_backend).json()] == [recent]
    assert len(get(nightscout_backend, **{"find[enteredBy]": "w"}).json()) == 1
    assert len(get(nightscout_backend, **{"find[enteredBy]": "w",
                                          "find[created_at][$gte]": "2025-01-01"}).json()) == 2
    # DELETE .../* obeys the same window
    response = nightscout_backend.request("DELETE", "api/v1/treatments/*")
    assert response.status_code == 200
    assert [d["created_at"] for d in nightscout_backend.stored_treatments()] == ["2025-03-10T10:00:00.000Z"]


def test_unparseable_date(nightscout_backend):
    response = get(nightscout_backend, **{"find[created_at][$gte]": "notadate"})
    if nightscout_backend.flavor == "0.12.8":
        assert response.status_code == 500
        assert "Cannot parse notadate" in response.text
    else:
        assert response.status_code == 200 and response.text == "null"
    # equality on created_at is read character by character: "-" is not a date either
    response = get(nightscout_backend, **{"find[created_at]": "2025-03-10T10:00:00.000Z"})
    assert response.status_code == (500 if nightscout_backend.flavor == "0.12.8" else 200)


def test_sort_and_count(nightscout_backend):
    post(nightscout_backend, [{"eventType": "Note", "created_at": "2025-03-10T10:%02d:00Z" % i, "notes": str(i)}
                              for i in range(5)])
    base = {"find[created_at][$gte]": "2025-03-10"}
    newest = [d["notes"] for d in get(nightscout_backend, count="2", **base).json()]
    assert newest == ["4", "3"]
    ascending = [d["notes"] for d in get(nightscout_backend, **{"sort[created_at]": "1"}, **base).json()]
    if nightscout_backend.flavor == "0.12.8":
        assert ascending == ["4", "3", "2", "1", "0"]          # the string "1" is not ascending
    else:
        assert ascending == ["0", "1", "2", "3", "4"]
    # a range with a +02:00 offset, "+" sent unescaped (read as a space and put back)
    response = nightscout_backend.request(
        "GET", "api/v1/treatments.json?find[created_at][$gte]=2025-03-10T12:02:00+02:00"
               "&find[created_at][$lt]=2025-03-10T12:04:00%2B02:00")
    assert [d["notes"] for d in response.json()] == ["3", "2"]


def test_query_value_conversions(nightscout_backend):
    post(nightscout_backend, [
        {"eventType": "Correction Bolus", "created_at": "2025-03-10T10:00:00Z", "insulin": 2.9,
         "enteredBy": "Pump (tconnectsync)", "duration": 30},
        {"eventType": "Correction Bolus", "created_at": "2025-03-10T10:01:00Z", "insulin": 2,
         "enteredBy": "someone"},
    ])
    base = {"find[created_at][$gte]": "2025-03-10"}
    # parseInt: "2.5" means 2, so 2.9 > 2 matches and 2 does not
    assert [d["insulin"] for d in get(nightscout_backend, **{"find[insulin][$gt]": "2.5"}, **base).json()] == [2.9]
    assert len(get(nightscout_backend, **{"find[enteredBy]": "/^pump/i"}, **base).json()) == 1
    assert len(get(nightscout_backend, **{"find[enteredBy]": "Pump (tconnectsync)"}, **base).json()) == 1
    assert len(get(nightscout_backend, **{"find[enteredBy][$ne]": "someone"}, **base).json()) == 1
    # other fields stay strings: "30" does not match the number 30
    assert get(nightscout_backend, **{"find[duration]": "30"}, **base).json() == []


def test_delete_by_find_answer(nightscout_backend):
    post(nightscout_backend, [{"eventType": "Note", "created_at": "2025-03-10T10:0%dZ" % i} for i in range(3)])
    response = nightscout_backend.request("DELETE", "api/v1/treatments", params={
        "find[created_at][$gte]": "2025-03-10T10:01:00Z"})
    assert response.status_code == 200
    body = response.json()
    if nightscout_backend.flavor == "0.12.8":
        assert body["n"] == 2 and body["ok"] == 1 and body["result"] == {"ok": 1, "n": 2}
    else:
        assert body == {"acknowledged": True, "deletedCount": 2}
    assert len(nightscout_backend.stored_treatments()) == 1


def test_delete_by_id(nightscout_backend):
    (doc,) = post(nightscout_backend, {"eventType": "Note", "created_at": "2025-03-10T10:00:00Z"})
    response = nightscout_backend.request("DELETE", "api/v1/treatments/" + doc["_id"])
    assert response.status_code == 200
    assert nightscout_backend.stored_treatments() == []
    response = nightscout_backend.request("DELETE", "api/v1/treatments/not-an-id")
    assert response.status_code == (500 if nightscout_backend.flavor == "0.12.8" else 200)


def test_put(nightscout_backend):
    (doc,) = post(nightscout_backend, {"eventType": "Note", "created_at": "2025-03-10T10:00:00Z", "notes": "a"})
    response = nightscout_backend.request("PUT", "api/v1/treatments", json={
        "_id": doc["_id"], "eventType": "Note", "created_at": "2025-03-10T11:00:00+01:00", "notes": "b",
        "carbs": 0})
    assert response.status_code == 200
    body = response.json()
    if nightscout_backend.flavor == "0.12.8":
        assert body["nModified"] == 1 and body["ok"] == 1
    else:
        assert body["_id"] == doc["_id"] and body["notes"] == "b"
    (stored,) = nightscout_backend.stored_treatments()
    assert stored["notes"] == "b" and stored["utcOffset"] == 60 and stored["carbs"] is None


def test_prebolus_event_time_and_announcement(nightscout_backend):
    answer = post(nightscout_backend, [
        {"eventType": "Meal Bolus", "created_at": "2025-03-10T10:00:00Z", "carbs": 30, "preBolus": 15,
         "insulin": 2, "notes": "pb"},
        {"eventType": "Announcement", "created_at": "2025-03-10T09:00:00Z", "notes": "hi",
         "eventTime": "2025-03-10T08:00:00+01:00"},
    ])
    assert len(answer) == 3
    carbs_record = {"created_at": "2025-03-10T10:15:00.000Z", "eventType": "Meal Bolus", "carbs": 30, "notes": "pb"}
    if nightscout_backend.flavor == "0.12.8":
        assert answer[1] == carbs_record
    else:                                          # 15.0.7 names the new record's _id
        assert answer[1] == dict(carbs_record, _id=answer[1]["_id"]) and len(answer[1]["_id"]) == 24
    stored = {d["created_at"]: d for d in nightscout_backend.stored_treatments()}
    assert stored["2025-03-10T10:00:00.000Z"]["carbs"] is None
    assert stored["2025-03-10T10:00:00.000Z"]["preBolus"] == 15
    assert stored["2025-03-10T10:15:00.000Z"]["carbs"] == 30
    announcement = stored["2025-03-10T07:00:00.000Z"]
    assert announcement["isAnnouncement"] is True and "eventTime" not in announcement


def test_missing_created_at_is_now(nightscout_backend):
    before = dt.datetime.now(UTC) - dt.timedelta(seconds=5)
    (doc,) = post(nightscout_backend, {"eventType": "Note", "notes": "when?"})
    assert before <= dt.datetime.fromisoformat(doc["created_at"].replace("Z", "+00:00")) \
        <= dt.datetime.now(UTC) + dt.timedelta(seconds=5)


def test_authentication(nightscout_backend):
    secret = nightscout_backend.secret
    sha1 = hashlib.sha1(secret.encode()).hexdigest()
    sha512 = hashlib.sha512(secret.encode()).hexdigest()
    url = nightscout_backend.url + "api/v1/treatments.json"
    session = nightscout_backend._session

    def status_with(value):
        return session.get(url, headers={"api-secret": value}, timeout=10).status_code

    assert status_with(sha1) == 200
    assert status_with(secret) == 401                       # the plain secret is refused
    new = nightscout_backend.flavor != "0.12.8"
    assert status_with(sha1.upper()) == (200 if new else 401)
    assert status_with(sha512) == (200 if new else 401)
    response = session.get(url, headers={"api-secret": ""}, timeout=10)
    assert response.status_code == 401
    assert response.json() == {"status": 401, "message": "Unauthorized", "description": "Invalid/Missing"}
    # ?secret= works too (our client never uses it)
    assert session.get(url, params={"secret": sha1}, headers={"api-secret": ""}, timeout=10).status_code == 200
    # writes without a secret are refused and store nothing
    response = session.post(url[:-5], json={"eventType": "Note"}, headers={"api-secret": ""}, timeout=10)
    assert response.status_code == 401
    assert nightscout_backend.stored_treatments() == []


def test_verifyauth_bodies(nightscout_backend):
    session = nightscout_backend._session
    url = nightscout_backend.url + "api/v1/verifyauth"
    good = session.get(url, timeout=10).json()
    bad = session.get(url, headers={"api-secret": "0" * 40}, timeout=10).json()
    none = session.get(url, headers={"api-secret": ""}, timeout=10).json()
    if nightscout_backend.flavor == "0.12.8":
        assert good == {"status": 200, "message": "OK"}
        assert bad == none == {"status": 200, "message": "UNAUTHORIZED"}
    else:
        assert good == {"status": 200, "message": {"canRead": True, "canWrite": True, "isAdmin": True,
                                                   "message": "OK", "rolefound": "NOTFOUND",
                                                   "permissions": "ROLE"}}
        assert bad["message"]["message"] == "UNAUTHORIZED" and bad["message"]["permissions"] == "ROLE"
        assert none["message"]["permissions"] == "DEFAULT" and none["message"]["canRead"] is False


def test_status_formats(nightscout_backend):
    session = nightscout_backend._session
    base = nightscout_backend.url + "api/v1/"
    assert session.get(base + "status.json", timeout=10).json()["version"] == nightscout_backend.flavor
    assert session.get(base + "status.txt", timeout=10).text == "STATUS OK"
    assert session.get(base + "status", headers={"Accept": "*/*"}, timeout=10).text == "<h1>STATUS OK</h1>"
    assert session.get(base + "status.json", headers={"api-secret": ""}, timeout=10).status_code == 401


def test_unknown_path_and_invalid_json(nightscout_backend):
    response = nightscout_backend.request("GET", "api/v1/nope")
    assert response.status_code == 404
    assert "text/html" in response.headers["Content-Type"]
    assert "<pre>Cannot GET /api/v1/nope</pre>" in response.text
    # Both versions' error handler answers in the format the Accept header prefers.
    answers = {}
    for accept in ("*/*", "application/json", "text/plain"):
        response = nightscout_backend.request("POST", "api/v1/treatments", data=b'{"eventType":',
                                              headers=dict(JSON, Accept=accept))
        assert response.status_code == 400
        answers[accept] = response
    assert "text/html" in answers["*/*"].headers["Content-Type"]
    assert "<h2><em>400</em> SyntaxError: " in answers["*/*"].text
    error = answers["application/json"].json()["error"]
    assert (error["type"], error["status"], error["body"]) == ("entity.parse.failed", 400, '{"eventType":')
    assert error["stack"].startswith("SyntaxError: " + error["message"] + "\n")
    assert "text/plain" in answers["text/plain"].headers["Content-Type"]
    assert answers["text/plain"].text.startswith("SyntaxError: ")
    assert nightscout_backend.stored_treatments() == []


def test_activity(nightscout_backend):
    doc = {"activityType": "tconnect_iob", "iob": 2.0, "created_at": "2021-10-20 10:00:00-04:00"}
    answer = post(nightscout_backend, [doc], "api/v1/activity")
    assert answer[0]["created_at"] == "2021-10-20 10:00:00-04:00" and answer[0]["iob"] == 2
    post(nightscout_backend, doc, "api/v1/activity")
    stored = nightscout_backend.stored_activity()
    # 0.12.8 inserts every time; 15.0.7 replaces a document that is identical
    assert len(stored) == (2 if nightscout_backend.flavor == "0.12.8" else 1)
    # without a created_at range only the last 4 days are listed
    assert get(nightscout_backend, "api/v1/activity.json").json() == []
    response = nightscout_backend.request("DELETE", "api/v1/activity/not-an-id")
    assert response.status_code == (500 if nightscout_backend.flavor == "0.12.8" else 400)
    response = nightscout_backend.request("DELETE", "api/v1/activity/" + stored[0]["_id"])
    assert response.status_code == 200 and response.json() == {}
    assert len(nightscout_backend.stored_activity()) == len(stored) - 1


def test_real_server_listens_on_loopback_only(real_nightscout):
    ports = {real_nightscout.port, real_nightscout.db_port}
    listening = {}
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            lines = open(table).read().splitlines()[1:]
        except OSError:
            continue
        for line in lines:
            fields = line.split()
            address, port = fields[1].split(":")
            if fields[3] == "0A" and int(port, 16) in ports:          # 0A = LISTEN
                listening.setdefault(int(port, 16), set()).add(address)
    if not listening:
        pytest.skip("cannot read listening sockets from /proc/net")
    assert set(listening) == ports
    for addresses in listening.values():
        assert addresses == {"0100007F"}                                # 127.0.0.1
