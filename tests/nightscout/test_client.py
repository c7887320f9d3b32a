"""Client-only behaviour against the fake: retries, rate limits, timeouts, URLs, error sentences."""
import datetime as dt
import logging
import time

import pytest

from tconnectsync.errors import NightscoutAuthError, NightscoutError, RateLimited, TransientError
from tconnectsync.http import HttpClient
from tconnectsync.nightscout import ENTERED_BY, NightscoutClient, hash_secret
from tconnectsync.sandbox.nightscout import FakeNightscout

SECRET = "client-test-secret"
UTC = dt.timezone.utc
START = dt.datetime(2025, 3, 10, tzinfo=UTC)
END = START + dt.timedelta(days=1)


class Sleeps(list):
    def __call__(self, seconds):
        self.append(seconds)


@pytest.fixture(params=["0.12.8", "15.0.7"])
def fake(request):
    with FakeNightscout(api_secret=SECRET, flavor=request.param) as ns:
        yield ns


@pytest.fixture
def sleeps():
    return Sleeps()


@pytest.fixture
def client(fake, sleeps):
    return NightscoutClient(fake.url, SECRET, sleep=sleeps)


def note(minute, **extra):
    doc = {"eventType": "Note", "created_at": "2025-03-10T10:%02d:00.000Z" % minute, "enteredBy": ENTERED_BY}
    doc.update(extra)
    return doc


def test_retries_a_500_then_succeeds(fake, client, sleeps):
    fake.fail_next(2, status=500)
    assert client.upload_treatments([note(0)]) == 1
    assert len(sleeps) == 2
    assert len(fake.treatments()) == 1
    assert client.request_count == 3 == fake.request_count


def test_honours_retry_after_on_429(fake, client, sleeps):
    fake.fail_next(1, status=429, body={"status": 429, "message": "Too Many Requests"},
                   headers={"Retry-After": "7"})
    assert client.verify_auth()["ok"] is True
    assert len(sleeps) == 1 and sleeps[0] >= 7


def test_a_long_retry_after_surfaces_as_rate_limited(fake, client, sleeps):
    fake.fail_next(1, status=429, headers={"Retry-After": "3600"})
    with pytest.raises(RateLimited) as info:
        client.status()
    assert info.value.retry_after == 3600
    assert sleeps == []


def test_gives_up_after_bounded_attempts(fake, client, sleeps):
    fake.fail_when(lambda method, path, query: 503 if path.startswith("/api/v1/treatments") else None)
    with pytest.raises(TransientError) as info:
        client.treatments(START, END)
    assert "Nightscout" in str(info.value) and "503" in str(info.value)
    assert fake.request_count == client.http.attempts == 4
    assert len(sleeps) == 3
    fake.fail_when(None)
    assert client.treatments(START, END) == []


def test_upload_failure_is_logged_with_the_batch(fake, client, caplog):
    fake.fail_when(lambda method, path, query: 502 if method == "POST" else None)
    with caplog.at_level(logging.WARNING, logger="tconnectsync"):
        with pytest.raises(TransientError):
            client.upload_treatments([note(0), note(5)])
    assert "batch 1 of 1" in caplog.text and "2025-03-10T10:05:00.000Z" in caplog.text


def test_timeout_is_respected(fake, sleeps):
    client = NightscoutClient(fake.url, SECRET, sleep=sleeps, timeout=(1, 0.2))
    fake.latency = 1.0
    began = time.monotonic()
    with pytest.raises(TransientError) as info:
        client.status()
    assert time.monotonic() - began < 3        # 4 attempts of 0.2 s, not 4 of 1 s
    assert "did not answer" in str(info.value)
    fake.latency = 0
    assert client.status()["version"] == fake.flavor


def test_a_server_that_is_down(fake, client):
    fake.down = True
    with pytest.raises(TransientError):
        client.verify_auth()
    fake.down = False
    assert client.verify_auth()["ok"] is True


@pytest.mark.parametrize("prefix", ["/", "/ns/", "/deep/site/"])
@pytest.mark.parametrize("slash", [True, False])
def test_base_url_with_or_without_slash_and_sub_path(prefix, slash, sleeps):
    with FakeNightscout(api_secret=SECRET, flavor="15.0.7", prefix=prefix) as ns:
        url = ns.url if slash else ns.url.rstrip("/")
        client = NightscoutClient(url, SECRET, sleep=sleeps)
        assert client.verify_auth()["ok"] is True
        client.upload_treatments([note(1)])
        assert len(client.treatments(START, END)) == 1
        assert all(path.startswith(prefix) for _method, path in ns.request_log)


def test_wrong_secret_sentence(fake, sleeps):
    client = NightscoutClient(fake.url, "another-secret-entirely", sleep=sleeps)
    with pytest.raises(NightscoutAuthError) as info:
        client.upload_treatments([note(0)])
    assert str(info.value).startswith("Nightscout refused the secret (HTTP 401): check NS_SECRET")
    assert sleeps == []                           # a 401 is not retried


def test_careportal_disabled_on_0_12_8(sleeps):
    with FakeNightscout(api_secret=SECRET, flavor="0.12.8", careportal=False) as ns:
        client = NightscoutClient(ns.url, SECRET, sleep=sleeps)
        assert client.treatments(START, END) == []
        with pytest.raises(NightscoutError) as info:
            client.upload_treatments([note(0)])
        assert info.value.status == 404 and "enable careportal" in str(info.value)


def test_other_4xx_name_the_status_and_batch_without_secrets(fake, client):
    fake.fail_next(1, status=400, body={"status": 400, "message": "Bad",
                                        "description": "hash " + hash_secret(SECRET) + " / " + SECRET})
    with pytest.raises(NightscoutError) as info:
        client.upload_treatments([note(0), note(9)])
    text = str(info.value)
    assert info.value.status == 400 and "HTTP 400" in text
    assert "batch 1 of 1" in text and "2025-03-10T10:00:00.000Z" in text and "2025-03-10T10:09:00.000Z" in text
    assert SECRET not in text and hash_secret(SECRET) not in text


def test_payload_too_large(fake, client):
    fake.fail_next(1, status=413, body="<html><body>PayloadTooLargeError</body></html>")
    with pytest.raises(NightscoutError) as info:
        client.upload_treatments([note(0)])
    assert info.value.status == 413 and "batch size" in str(info.value)


def test_answers_that_are_not_what_we_asked_for(fake, client):
    fake.fail_next(1, status=200, body="<html>a login page</html>")
    with pytest.raises(NightscoutError, match="not JSON"):
        client.status()
    fake.fail_next(1, status=200, body=None)          # JSON null: the date was not understood
    with pytest.raises(NightscoutError, match="null"):
        client.treatments(START, END)
    fake.fail_next(1, status=200, body={"not": "a list"})
    with pytest.raises(NightscoutError, match="instead of a list"):
        client.treatments(START, END)


def test_a_server_ignoring_the_range_cannot_loop_forever(fake, sleeps):
    client = NightscoutClient(fake.url, SECRET, sleep=sleeps, page_size=2)
    page = [dict(note(5), _id="a" * 24), dict(note(4), _id="b" * 24)]
    fake.fail_when(lambda method, path, query: (200, page) if method == "GET" else None)
    with pytest.raises(NightscoutError, match="ignored the created_at range"):
        client.treatments(START, END)
    assert fake.request_count < 10


@pytest.mark.parametrize("body, expected", [
    ({"status": 200, "message": "OK"}, {"ok": True, "can_write": True, "message": "OK"}),
    ({"status": 200, "message": "UNAUTHORIZED"}, {"ok": False, "can_write": None, "message": "UNAUTHORIZED"}),
    ({"status": 200, "message": {"message": "OK", "rolefound": "FOUND"}},               # 14.0.x
     {"ok": True, "can_write": True, "message": "OK"}),
    ({"status": 200, "message": {"canRead": True, "canWrite": False, "isAdmin": False, "message": "OK",
                                 "rolefound": "FOUND", "permissions": "ROLE"}},         # a read-only token
     {"ok": True, "can_write": False, "message": "OK"}),
])
def test_verify_auth_shapes(fake, client, body, expected):
    fake.fail_next(1, status=200, body=body)
    assert client.verify_auth() == expected


def test_default_count_limits_do_not_truncate(fake, client):
    client.upload_treatments([dict(note(0), eventType="Note %d" % i) for i in range(150)])
    assert len(client.treatments(START, END)) == 150


def test_entered_by_that_looks_like_a_regex_is_matched_exactly(fake, client):
    client.upload_treatments([note(0, enteredBy="/odd/ uploader"), note(1, enteredBy="an /odd/ one")])
    (doc,) = client.treatments(START, END, entered_by="/odd/ uploader")
    assert doc["enteredBy"] == "/odd/ uploader"


def test_arguments_are_checked(client):
    with pytest.raises(ValueError):
        client.treatments(dt.datetime(2025, 3, 10), END)          # naive
    with pytest.raises(ValueError):
        client.update_treatment({"eventType": "Note"})            # no _id
    with pytest.raises(ValueError):
        client.delete_activity("nope")


def test_datetimes_in_documents_are_sent_as_utc(fake, client):
    moment = dt.datetime(2025, 3, 10, 12, 0, tzinfo=dt.timezone(dt.timedelta(hours=2)))
    client.upload_treatments([{"eventType": "Note", "created_at": moment, "enteredBy": ENTERED_BY}])
    (doc,) = client.treatments(START, END)
    assert doc["created_at"] == "2025-03-10T10:00:00.000Z"


def test_an_injected_http_client_is_used(fake, sleeps):
    http = HttpClient("My Nightscout", attempts=2, sleep=sleeps)
    client = NightscoutClient(fake.url, SECRET, http=http)
    fake.fail_next(5, status=500)
    with pytest.raises(TransientError, match="My Nightscout"):
        client.status()
    assert client.request_count == 2


def test_retry_warning_is_well_formed(fake, sleeps, caplog):
    logging.getLogger("tconnectsync.http").setLevel(logging.NOTSET)
    client = NightscoutClient(fake.url, SECRET, sleep=sleeps)
    fake.fail_next(1, status=500)
    with caplog.at_level(logging.WARNING, logger="tconnectsync.http"):
        client.status()
    assert "trying again" in caplog.text and "HTTP 500" in caplog.text
