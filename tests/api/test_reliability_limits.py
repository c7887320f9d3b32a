"""The login cap shared through the state folder (api/common.py) and the run budget in the HTTP
choke point (budget.py, http.py), against real HTTP on 127.0.0.1."""
import os
import stat
import types

import pytest

from tconnectsync.api.common import LoginLimiter, credentials_fingerprint
from tconnectsync.budget import RunBudget
from tconnectsync.errors import AccountLocked, BadCredentials, LoginThrottled, RunBudgetExceeded, TransientError
from tconnectsync.http import HttpClient

from .test_http import server, sleeps  # noqa: F401 - the fixtures


class Clock:
    def __init__(self, t=1_700_000_000.0):
        self.t = t

    def __call__(self):
        return self.t


def account(tmp_path, password="right", email="Pumper@Example.com", services_url="http://127.0.0.1:9/"):
    return types.SimpleNamespace(state_dir=str(tmp_path / "state"), email=email, password=password,
                                 services_url=services_url)


def test_the_cap_holds_across_processes(tmp_path):
    clock = Clock()
    first, second = (LoginLimiter.for_account(account(tmp_path), clock=clock) for _ in range(2))
    for _ in range(3):
        first.acquire("Tandem Source")
        second.acquire("Tandem Source")
    with pytest.raises(LoginThrottled) as info:
        LoginLimiter.for_account(account(tmp_path), clock=clock).acquire("Tandem Source")
    assert "6 login attempts in the last hour" in str(info.value) and "60 minutes" in str(info.value)
    clock.t += 3600
    LoginLimiter.for_account(account(tmp_path), clock=clock).acquire("Tandem Source")     # an hour later
    (path,) = (tmp_path / "state").glob("logins-*.json")
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600 and "pumper" not in path.name.lower()


def test_a_refusal_holds_for_the_same_password_for_an_hour(tmp_path):
    clock = Clock()
    limiter = LoginLimiter.for_account(account(tmp_path, "wrong"), clock=clock)
    limiter.acquire("Tandem Source")
    limiter.refuse("Tandem Source", BadCredentials("refused"))
    clock.t += 1800
    other = LoginLimiter.for_account(account(tmp_path, "wrong"), clock=clock)
    with pytest.raises(BadCredentials) as info:
        other.acquire("Tandem Source")
    assert "no new login until TCONNECT_PASSWORD changes or until" in str(info.value)
    assert "wrong" not in str(info.value) and other.total == 0
    other.forget_refusals()                 # the daemon's back-off does not lift the shared refusal
    with pytest.raises(BadCredentials):
        other.acquire("Tandem Source")
    LoginLimiter.for_account(account(tmp_path, "changed"), clock=clock).acquire("Tandem Source")
    clock.t += 1801
    LoginLimiter.for_account(account(tmp_path, "wrong"), clock=clock).acquire("Tandem Source")
    assert "wrong" not in (tmp_path / "state").joinpath(os.listdir(tmp_path / "state")[0]).read_text()


def test_one_history_per_account_and_login_service(tmp_path):
    clock = Clock()
    for _ in range(6):
        LoginLimiter.for_account(account(tmp_path, email="a@example.com"), clock=clock).acquire("Tandem Source")
    with pytest.raises(LoginThrottled):
        LoginLimiter.for_account(account(tmp_path, email=" A@example.com"), clock=clock).acquire("t:connect")
    LoginLimiter.for_account(account(tmp_path, email="b@example.com"), clock=clock).acquire("Tandem Source")
    LoginLimiter.for_account(account(tmp_path, email="a@example.com", services_url="http://127.0.0.1:10/"),
                             clock=clock).acquire("Tandem Source")


def test_a_lockout_is_told_as_one(tmp_path):
    limiter = LoginLimiter.for_account(account(tmp_path), clock=Clock())
    limiter.refuse("t:connect", AccountLocked("locked"))
    with pytest.raises(AccountLocked) as info:
        LoginLimiter.for_account(account(tmp_path), clock=Clock()).check_refused("t:connect")
    assert str(info.value).startswith("t:connect locked the account at ")


def test_the_fingerprint_is_salted_and_never_the_password():
    a = credentials_fingerprint("me@example.com", "secret", "00" * 16)
    assert a == credentials_fingerprint("ME@example.com ", "secret", "00" * 16)
    assert a != credentials_fingerprint("me@example.com", "secret", "11" * 16)
    assert a != credentials_fingerprint("me@example.com", "secret2", "00" * 16)
    assert "secret" not in a and len(a) == 64


def test_without_a_state_folder_the_cap_is_per_process(tmp_path):
    limiter = LoginLimiter.for_account(types.SimpleNamespace(state_dir="", email="a@b.c", password="x"))
    assert limiter.path is None
    for _ in range(6):
        limiter.acquire("t:connect")
    with pytest.raises(LoginThrottled):
        limiter.acquire("t:connect")


def test_a_hanging_host_is_given_up_after_two_timeouts(server, sleeps):  # noqa: F811
    server.answer("hang")
    http = HttpClient("Test remote", timeout=(2, 0.3), attempts=4, sleep=sleeps)
    http.budget = RunBudget(60)
    with pytest.raises(TransientError) as info:
        http.request("GET", server.url + "a")
    assert str(info.value) == "Test remote did not answer within 0.3 seconds after 2 attempts."
    with pytest.raises(RunBudgetExceeded) as again:
        http.request("GET", server.url + "b")
    assert "did not answer twice in this run; not asking it again" in str(again.value)
    assert len(server.received) == 2 and len(sleeps) == 1
    http.budget.restart()                               # the daemon's next cycle asks it again
    server.answer(200)
    assert http.request("GET", server.url + "c").status_code == 200


def test_the_budget_caps_timeouts_and_back_offs(server, sleeps):  # noqa: F811
    clock = Clock(0.0)
    budget = RunBudget(5, clock=clock)
    assert budget.cap((10, 60)) == (5.0, 5.0)
    clock.t = 4.5
    assert budget.cap((10, 60)) == (1.0, 1.0) and not budget.allows_wait(1.0)
    server.answer(503)
    http = HttpClient("Test remote", attempts=4, sleep=sleeps)
    http.budget = budget
    with pytest.raises(TransientError) as info:
        http.request("GET", server.url)
    assert "after 1 attempt." in str(info.value) and sleeps == []      # no back-off past the budget
    clock.t = 5.0
    with pytest.raises(RunBudgetExceeded) as spent:
        http.request("GET", server.url)
    assert "time budget of 5 seconds (TCONNECTSYNC_RUN_BUDGET)" in str(spent.value)
    assert len(server.received) == 1

