"""The fake Nightscout's own features: flavour details, fault injection, thread safety, CLI."""
import datetime as dt
import hashlib
import json
import os
import subprocess
import sys
import threading
import time

import pytest
import requests

from tconnectsync.nightscout import ENTERED_BY, NightscoutClient
from tconnectsync.sandbox.nightscout import FakeNightscout, js_number, parse_date, parse_qs, purify

SECRET = "fake-test-secret!"
SHA1 = hashlib.sha1(SECRET.encode()).hexdigest()
UTC = dt.timezone.utc


def call(ns, method, path, secret=SHA1, **kwargs):
    headers = kwargs.pop("headers", {})
    if secret is not None:
        headers["api-secret"] = secret
    return requests.request(method, ns.url + path, headers=headers, timeout=10, **kwargs)


@pytest.fixture
def ns15():
    with FakeNightscout(api_secret=SECRET, flavor="15.0.7") as ns:
        yield ns


@pytest.fixture
def ns012():
    with FakeNightscout(api_secret=SECRET, flavor="0.12.8") as ns:
        yield ns


def test_identifier_dedup_answers_the_id_on_15(ns15):
    first = call(ns15, "POST", "api/v1/treatments", json={"eventType": "Note", "identifier": "abc-123",
                                                          "created_at": "2025-03-10T10:00:00Z"}).json()
    second = call(ns15, "POST", "api/v1/treatments", json={"eventType": "Note", "identifier": "abc-123",
                                                           "created_at": "2025-03-10T10:05:00Z"}).json()
    assert first[0]["_id"] == second[0]["_id"]
    (stored,) = ns15.treatments()
    assert stored["created_at"] == "2025-03-10T10:05:00.000Z"


def test_uuid_id_moves_to_identifier_on_15(ns15):
    call(ns15, "POST", "api/v1/treatments", json={"_id": "6f1c2d3e-uuid", "eventType": "Note",
                                                  "created_at": "2025-03-10T10:00:00Z"})
    (stored,) = ns15.treatments()
    assert stored["identifier"] == "6f1c2d3e-uuid" and len(stored["_id"]) == 24


def test_two_docs_with_one_key_in_one_array_collapse(ns012, ns15):
    for ns in (ns012, ns15):
        docs = [{"eventType": "Note", "created_at": "2025-03-10T10:00:00Z", "notes": "a"},
                {"eventType": "Note", "created_at": "2025-03-10T11:00:00+01:00", "notes": "b"}]
        answer = call(ns, "POST", "api/v1/treatments", json=docs).json()
        assert "_id" in answer[0] and "_id" not in answer[1]
        assert [d["notes"] for d in ns.treatments()] == ["b"]


def test_put_per_flavor(ns012, ns15):
    body = {"eventType": "Note", "created_at": "2025-03-10T10:00:00Z", "notes": "via put"}
    answer = call(ns012, "PUT", "api/v1/treatments", json=body).json()
    assert answer["upserted"][0]["_id"] == ns012.treatments()[0]["_id"]
    answer = call(ns15, "PUT", "api/v1/treatments", json=body).json()
    assert answer["_id"] == ns15.treatments()[0]["_id"] and answer["notes"] == "via put"


def test_default_count_per_flavor(ns012, ns15):
    now = dt.datetime.now(UTC)
    docs = [{"eventType": "Note %d" % i, "created_at": (now - dt.timedelta(minutes=i)).isoformat()}
            for i in range(1100)]
    for ns in (ns012, ns15):
        call(ns, "POST", "api/v1/treatments", json=docs)
    assert len(call(ns012, "GET", "api/v1/treatments.json").json()) == 1100
    assert len(call(ns15, "GET", "api/v1/treatments.json").json()) == 100
    assert len(call(ns15, "GET", "api/v1/treatments.json",
                    params={"find[created_at][$gte]": "2000-01-01"}).json()) == 1000
    assert len(call(ns15, "GET", "api/v1/treatments.json",
                    params={"find[created_at][$gte]": "2000-01-01", "count": "2000"}).json()) == 1100


def test_sanitising_on_15_only(ns012, ns15):
    doc = {"eventType": "Note", "created_at": "2025-03-10T10:00:00Z",
           "notes": "<script>alert(1)</script><b>bold</b>", "reason": "x < y", "enteredBy": "a & b > c"}
    for ns in (ns012, ns15):
        call(ns, "POST", "api/v1/treatments", json=doc)
    assert ns012.treatments()[0]["notes"] == doc["notes"]
    stored = ns15.treatments()[0]
    assert stored["notes"] == "<b>bold</b>" and stored["reason"] == "x &lt; y"
    assert stored["enteredBy"] == "a & b > c"
    assert purify("a<b") == "a"


def test_readable_default_role():
    with FakeNightscout(api_secret=SECRET, auth_default_roles="readable") as ns:
        assert call(ns, "GET", "api/v1/treatments.json", secret=None).status_code == 200
        assert call(ns, "GET", "api/v1/status.json", secret=None).status_code == 200
        assert call(ns, "POST", "api/v1/treatments", secret=None, json={}).status_code == 401
        body = call(ns, "GET", "api/v1/verifyauth", secret=None).json()["message"]
        assert body["canRead"] is True and body["message"] == "UNAUTHORIZED"


def test_secret_in_body_is_accepted_and_removed(ns012):
    response = call(ns012, "POST", "api/v1/treatments", secret=None,
                    json=[{"eventType": "Note", "created_at": "2025-03-10T10:00:00Z", "secret": SHA1}])
    assert response.status_code == 200
    assert "secret" not in ns012.treatments()[0]


def test_auth_fail_delay_on_15():
    with FakeNightscout(api_secret=SECRET, flavor="15.0.7", auth_fail_delay=0.3) as ns:
        assert call(ns, "GET", "api/v1/treatments.json", secret="0" * 40).status_code == 401
        began = time.monotonic()
        assert call(ns, "GET", "api/v1/treatments.json").status_code == 200
        assert time.monotonic() - began >= 0.25


def test_body_over_50_mb_is_413_html(ns15):
    big = json.dumps([{"eventType": "Note", "notes": "x" * 1000}] * 52000)
    response = call(ns15, "POST", "api/v1/treatments", data=big, headers={"Content-Type": "application/json"})
    assert response.status_code == 413 and "text/html" in response.headers["Content-Type"]
    assert ns15.treatments() == []


def test_entries(ns15):
    now_ms = int(time.time() * 1000)
    sgv = [{"type": "sgv", "sgv": 120 + i, "date": now_ms - i * 300000, "direction": "Flat"} for i in range(3)]
    answer = call(ns15, "POST", "api/v1/entries", json=sgv).json()
    assert all("_id" in e and "sysTime" in e for e in answer)
    call(ns15, "POST", "api/v1/entries", json=sgv[:1])                      # dedup on sysTime + type
    assert len(ns15.entries()) == 3
    assert [e["sgv"] for e in call(ns15, "GET", "api/v1/entries.json", params={"count": 2}).json()] == [120, 121]
    assert call(ns15, "GET", "api/v1/entries/sgv.json", params={"count": 1}).json()[0]["sgv"] == 120


def test_fail_next_fail_when_and_request_log(ns15):
    ns15.fail_next(2, status=503)
    assert call(ns15, "GET", "api/v1/status.json").status_code == 503
    assert call(ns15, "GET", "api/v1/status.json").status_code == 503
    assert call(ns15, "GET", "api/v1/status.json").status_code == 200
    ns15.fail_when(lambda method, path, query: 500 if "enteredBy" in query else None)
    assert call(ns15, "GET", "api/v1/treatments.json", params={"find[enteredBy]": "x"}).status_code == 500
    assert call(ns15, "GET", "api/v1/treatments.json").status_code == 200
    ns15.fail_when(None)
    assert ns15.request_count == 5
    assert ns15.request_log[3] == ("GET", "/api/v1/treatments.json?find%5BenteredBy%5D=x")


def test_down_closes_connections(ns15):
    ns15.down = True
    with pytest.raises(requests.ConnectionError):
        call(ns15, "GET", "api/v1/status.json")
    ns15.down = False
    assert call(ns15, "GET", "api/v1/status.json").status_code == 200


def test_latency(ns15):
    ns15.latency = 0.2
    began = time.monotonic()
    call(ns15, "GET", "api/v1/status.json")
    assert time.monotonic() - began >= 0.2


def test_concurrent_uploads_lose_nothing(ns15):
    errors = []

    def upload(worker):
        client = NightscoutClient(ns15.url, SECRET, batch_size=10)
        try:
            client.upload_treatments([{"eventType": "Note", "created_at": "2025-03-10T10:%02d:%02d.000Z"
                                       % (worker, i), "enteredBy": ENTERED_BY} for i in range(50)])
        except Exception as exc:            # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=upload, args=(n,)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert len(ns15.treatments()) == 400
    assert len({d["_id"] for d in ns15.treatments()}) == 400


def test_seed_and_now(ns15):
    ns15.now = lambda: dt.datetime(2025, 3, 12, tzinfo=UTC)
    ns15.seed("treatments", [{"eventType": "Note", "created_at": "2025-03-10T10:00:00.000Z"},
                             {"eventType": "Note", "created_at": "2025-03-01T10:00:00.000Z"}])
    assert len(call(ns15, "GET", "api/v1/treatments.json").json()) == 1      # 4 days before "now"


def test_helpers():
    assert parse_qs("find[created_at][$gte]=2025-03-10T12:00:00+02:00&count=5&a=1&a=2") == {
        "find": {"created_at": {"$gte": "2025-03-10T12:00:00 02:00"}}, "count": "5", "a": ["1", "2"]}
    assert parse_date("2025-03-10T12:00:00+0200")[1] == 120
    assert parse_date("2025-03-10 12:00")[0] == dt.datetime(2025, 3, 10, 12, tzinfo=UTC)
    assert parse_date("2025-13-10") is None and parse_date("junk") is None
    assert js_number("1.5") == 1.5 and js_number("") == 0 and js_number(None) == 0
    assert js_number("abc") != js_number("abc")                                 # NaN


def test_command_line_serves_until_interrupted():
    env = dict(os.environ, NS_SECRET=SECRET)
    process = subprocess.Popen([sys.executable, "-m", "tconnectsync.sandbox.nightscout", "--port", "0",
                                "--flavor", "0.12.8"], stdout=subprocess.PIPE, text=True, env=env)
    try:
        line = process.stdout.readline()
        url = line.split(" serving at ")[1].split()[0]
        assert url.startswith("http://127.0.0.1:")
        response = requests.get(url + "api/v1/verifyauth", headers={"api-secret": SHA1}, timeout=10)
        assert response.json() == {"status": 200, "message": "OK"}
    finally:
        process.send_signal(2)
        assert process.wait(10) == 0
