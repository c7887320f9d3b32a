"""What every test shares.

* Each test stands for a new process: warnings logged once per process are logged again.
* No proxy from the developer's environment. The HTTP layer honours HTTPS_PROXY/HTTP_PROXY/
  ALL_PROXY/NO_PROXY (tconnectsync.http), so a proxy set in the shell that runs the tests would
  carry the sandboxes' 127.0.0.1 traffic to it. Each test starts without them (subprocesses
  inherit that); the proxy tests set their own.
"""
import pytest

from tconnectsync import logs

PROXY_VARIABLES = ("http_proxy", "https_proxy", "all_proxy", "no_proxy")


@pytest.fixture(autouse=True)
def _fresh_warn_once():
    logs.forget_warnings()
    yield


@pytest.fixture(autouse=True)
def _no_proxy_from_the_environment(monkeypatch):
    for name in PROXY_VARIABLES:
        monkeypatch.delenv(name, raising=False)
        monkeypatch.delenv(name.upper(), raising=False)
