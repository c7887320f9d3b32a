"""The t:connect clients against the simulated legacy Tandem cloud (real HTTP on 127.0.0.1): the
statuses each one maps, and "log in again once on a 401" through the choke point's auth hook."""
import datetime as dt

import pytest

from tconnectsync.api.common import LoginLimiter
from tconnectsync.api.tconnect import TConnectApi
from tconnectsync.config import Config
from tconnectsync.errors import BadCredentials, LoginThrottled, NoData, TandemError, TransientError
from tconnectsync.sandbox.scenario import make_scenario
from tconnectsync.sandbox.tconnect import TandemLegacySandbox

UTC = dt.timezone.utc
EMAIL = "pumper@example.com"
PASSWORD = "pass word!"
DAY = dt.date(2021, 10, 20)


@pytest.fixture
def sb():
    scenario = make_scenario(dt.date(2021, 10, 18), dt.date(2021, 10, 21),
                             cutoff=dt.datetime(2021, 10, 21, 20, tzinfo=UTC))
    sandbox = TandemLegacySandbox(scenario, email=EMAIL, password=PASSWORD).start()
    yield sandbox
    sandbox.stop()


def api_for(sb, password=PASSWORD, limiter=None):
    config = Config(email=EMAIL, password=password, pump_serial="11111111", ns_url="", ns_secret="",
                    timezone_name="America/New_York", web_url=sb.web_url, ws2_url=sb.ws2_url,
                    services_url=sb.services_url, http_timeout=10.0)
    return TConnectApi(config, sleep=lambda s: None, limiter=limiter)


def sent(sb, fragment):
    return [entry for entry in sb.request_log if fragment in entry[2]]


def test_a_refused_token_means_one_login_and_the_same_request_again(sb):
    api = api_for(sb)
    api.controliq.therapy_timeline(DAY, DAY)
    logins = sb.login_attempts
    sb.expire_tokens()
    body = api.controliq.therapy_timeline(DAY, DAY)
    assert isinstance(body, dict)
    assert sb.login_attempts == logins + 1
    assert len(sent(sb, "therapytimeline")) == 3            # the first call, the refused one, the re-sent one


def test_a_token_refused_after_a_fresh_login_is_an_error_not_a_loop(sb):
    api = api_for(sb)
    api.controliq.therapy_timeline(DAY, DAY)
    logins = sb.login_attempts
    sb.fail_when(lambda host, method, path, query: 401 if "therapytimeline" in path else None)
    with pytest.raises(TandemError) as info:
        api.controliq.therapy_timeline(DAY, DAY)
    assert info.value.status == 401 and str(info.value) == "t:connect Control:IQ therapytimeline answered HTTP 401."
    assert sb.login_attempts == logins + 1


def test_control_iq_404_is_no_data_and_403_names_the_firewall(sb):
    api = api_for(sb)
    sb.fail_next("services", 1, status=404)
    with pytest.raises(NoData):
        api.controliq.therapy_events(DAY, DAY)
    sb.fail_next("services", 1, status=403)
    with pytest.raises(TandemError) as info:
        api.controliq.summary(DAY, DAY)
    assert info.value.status == 403 and "Tandem's firewall" in str(info.value)


def test_ws2_statuses(sb):
    api = api_for(sb)
    sb.fail_next("ws2", 1, status=400)
    with pytest.raises(TandemError) as info:
        api.ws2.therapy_timeline_csv(DAY, DAY)
    assert str(info.value) == "t:connect ws2 therapytimeline2csv answered HTTP 400."
    sb.fail_next("ws2", 4, status=500)
    with pytest.raises(TransientError):
        api.ws2.basal_suspension(DAY, DAY)
    sb.fail_next("ws2", 2, status=500)
    assert api.ws2.basal_suspension(DAY, DAY)                  # a GET: retried


def test_the_android_api_logs_in_again_once(sb):
    api = api_for(sb)
    first = api.android.last_event_uploaded("11111111")
    logins = sb.login_attempts
    sb.expire_tokens()
    assert api.android.last_event_uploaded("11111111") == first
    assert sb.login_attempts == logins + 1
    pred = sb.fail_when(lambda host, method, path, query: 401 if "getlasteventuploaded" in path else None)
    with pytest.raises(TandemError) as info:
        api.android.last_event_uploaded("11111111")
    assert info.value.status == 401 and sb.login_attempts == logins + 2
    sb.remove_fault(pred)


def test_credential_posts_after_transient_failures_are_bounded_and_counted(sb):
    # A 503 on a login is retried like any call (4 attempts), each attempt counted by the limiter.
    limiter = LoginLimiter(per_hour=6)
    sb.fail_when(lambda host, method, path, query: 503 if method == "POST" and "login" in path.lower() else None)
    with pytest.raises(TransientError):
        api_for(sb, limiter=limiter).web.login()
    assert len([e for e in sent(sb, "login") if e[1] == "POST"]) == 4 and limiter.total == 4
    sb.clear_faults()
    sb.fail_when(lambda host, method, path, query: 503 if "oauth2/token" in path else None)
    with pytest.raises(LoginThrottled):
        api_for(sb, limiter=limiter).android.login()
    assert len(sent(sb, "oauth2/token")) == 2 and limiter.total == 6      # the hourly cap holds


def test_wrong_credentials_are_never_sent_twice(sb):
    limiter = LoginLimiter()
    api = api_for(sb, password="wrong", limiter=limiter)
    for _ in range(2):
        with pytest.raises(BadCredentials):
            api.controliq.therapy_timeline(DAY, DAY)
    assert sb.login_attempts == 1 and limiter.total == 1


def test_a_maintenance_page_on_the_login_is_not_a_password_refusal(sb):
    # Wrong credentials re-render the login form (HTTP 200); another page says nothing about the
    # password: an error, not BadCredentials, and the next login is allowed.
    limiter = LoginLimiter()
    sb.fail_when(lambda host, method, path, query: (200, None, "<html><body>Down for maintenance</body></html>")
                 if method == "POST" and "login" in path.lower() else None)
    with pytest.raises(TandemError) as info:
        api_for(sb, limiter=limiter).web.login()
    assert not isinstance(info.value, BadCredentials) and "says nothing about your password" in str(info.value)
    sb.clear_faults()
    api_for(sb, limiter=limiter).web.login()                   # not refused: the login goes on
    assert sb.login_attempts == 1 and limiter.total == 2      # the faulted answer never reached the sandbox's form
