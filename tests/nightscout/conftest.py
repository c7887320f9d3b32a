"""Nightscout backends for the contract tests, reusable by other test packages.

* Real servers, started by ``scripts/nightscout-local.sh`` on random free ports of 127.0.0.1
  (one per version and pytest process, stopped at its end; see docs/nightscout.md):

  - Nightscout 0.12.8 + CongoDB from ``.nslocal/`` (``TCONNECTSYNC_NSLOCAL_DIR``), installed there
    on first use (about a minute, npm registry only);
  - Nightscout 15.0.7 + CongoDB from ``.ns15/`` (``TCONNECTSYNC_NS15_DIR``), never installed by the
    tests (it needs the source archive ``../shared/nightscout/cgm-remote-monitor-15.0.7.tar.gz``,
    a minute and ~2 GB of RAM): ``bash scripts/nightscout-local.sh install15`` installs it.

  Each skips, naming what is missing and the command that installs it, when it cannot be
  installed or started; ``TCONNECTSYNC_REAL_NS=0`` skips both on purpose.
* ``real_nightscout`` (session): the real 0.12.8; ``real_nightscout_15`` (session): the real
  15.0.7; ``any_real_nightscout`` (session, parametrized): each real server in turn.
* ``nightscout_backend`` (function, parametrized): ``fake-0.12.8``, ``fake-15.0.7``,
  ``real-0.12.8``, ``real-15.0.7``; each yields a ``Backend`` with ``url``, ``secret``, ``flavor``,
  ``kind``, ``clear()``, ``stored_treatments()``, ``stored_activity()`` and (fakes only) ``fake``.

A real server is emptied before and after every test that uses it through ``nightscout_backend``.

Reuse elsewhere (e.g. tests/e2e/conftest.py)::

    from tests.nightscout.conftest import real_nightscout  # noqa: F401  (the fixture)

or call ``shared_real_nightscout(version)`` directly (raises RuntimeError with the reason when it
cannot start). Either way one server per version is started per pytest process, and stopped at
its end.
"""
import atexit
import os
import secrets
import shutil
import socket
import subprocess
from pathlib import Path

import pytest
import requests

from tconnectsync.nightscout import hash_secret
from tconnectsync.sandbox.nightscout import FakeNightscout

REPO = Path(__file__).resolve().parents[2]
SCRIPT = REPO / "scripts" / "nightscout-local.sh"
INSTALL_DIR = Path(os.environ.get("TCONNECTSYNC_NSLOCAL_DIR") or REPO / ".nslocal")
NS15_DIR = Path(os.environ.get("TCONNECTSYNC_NS15_DIR") or REPO / ".ns15")
OLD, NEW = "0.12.8", "15.0.7"
EVERYTHING = "1970-01-01T00:00:00.000Z"      # an explicit created_at bound: no 4-day window


def free_port():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Backend:
    """One Nightscout under test, read and cleared with plain HTTP (not with our client)."""

    def __init__(self, kind, flavor, url, secret, fake=None):
        self.kind = kind                  # "fake" or "real"
        self.flavor = flavor              # "0.12.8" or "15.0.7"
        self.url = url
        self.secret = secret
        self.fake = fake
        self.name = "%s-%s" % (kind, flavor)
        self._session = requests.Session()
        self._session.trust_env = False
        self._session.headers["api-secret"] = hash_secret(secret)

    def __repr__(self):
        return "Backend(%s, %s)" % (self.name, self.url)

    def request(self, method, path, **kwargs):
        kwargs.setdefault("timeout", 10)
        return self._session.request(method, self.url + path, **kwargs)

    def stored_treatments(self):
        """Every treatment the server holds, as its GET serves them, oldest first."""
        response = self.request("GET", "api/v1/treatments.json", params={
            "find[created_at][$gte]": EVERYTHING, "count": "100000", "sort[created_at]": "1"})
        response.raise_for_status()
        return response.json()

    def stored_activity(self):
        response = self.request("GET", "api/v1/activity.json", params={
            "find[created_at][$gte]": EVERYTHING, "count": "100000"})
        response.raise_for_status()
        return response.json()

    def clear(self):
        if self.fake is not None:
            self.fake.clear()
            return
        response = self.request("DELETE", "api/v1/treatments", params={"find[created_at][$gte]": EVERYTHING})
        response.raise_for_status()
        for doc in self.stored_activity():
            self.request("DELETE", "api/v1/activity/" + doc["_id"]).raise_for_status()
        self.request("DELETE", "api/v1/entries", params={"find[date][$gte]": "0"}).raise_for_status()
        profiles = self.request("GET", "api/v1/profile.json", params={"count": "1000"})
        profiles.raise_for_status()
        for doc in profiles.json() or []:
            self.request("DELETE", "api/v1/profile/" + doc["_id"]).raise_for_status()
        assert self.stored_treatments() == [] and self.stored_activity() == []

    def close(self):
        self._session.close()


class RealNightscout(Backend):
    """A running real Nightscout started by scripts/nightscout-local.sh."""

    def __init__(self, url, secret, port, db_port, install_dir, version=OLD):
        super().__init__("real", version, url, secret)
        self.port = port
        self.db_port = db_port
        self.install_dir = install_dir

    def stop(self):
        self.close()
        subprocess.run(["bash", str(SCRIPT), "stop", str(self.install_dir), str(self.port)],
                       capture_output=True, timeout=60)


def _tail(text, secret=None, lines=15):
    text = "\n".join((text or "").strip().splitlines()[-lines:])
    if secret:
        text = text.replace(secret, "<secret>").replace(hash_secret(secret), "<sha1>")
    return text


def _install_dir(version):
    return INSTALL_DIR if version == OLD else NS15_DIR


def _installed_version(install_dir):
    """The version ``scripts/nightscout-local.sh version`` finds in install_dir, or None."""
    answer = subprocess.run(["bash", str(SCRIPT), "version", str(install_dir)],
                            capture_output=True, text=True, timeout=60)
    return answer.stdout.strip() if answer.returncode == 0 else None


def start_real_nightscout(version=OLD, install_dir=None):
    """Install 0.12.8 if needed, then start a real Nightscout of ``version``; a RealNightscout.

    Raises RuntimeError with the reason (and the command that would fix it) when it cannot.
    """
    if os.environ.get("TCONNECTSYNC_REAL_NS", "1") == "0":
        raise RuntimeError("TCONNECTSYNC_REAL_NS=0: real Nightscout not wanted")
    install_dir = Path(install_dir or _install_dir(version))
    for tool in ("bash", "node", "npm", "curl", "sha1sum", "tar", "setsid"):
        if not shutil.which(tool):
            raise RuntimeError("%s is not installed (needed to run a real Nightscout)" % tool)
    if version == OLD:
        install = subprocess.run(["bash", str(SCRIPT), "install", str(install_dir)],
                                 capture_output=True, text=True, timeout=900)
        if install.returncode != 0:
            raise RuntimeError("installing Nightscout 0.12.8 into %s failed (try: bash scripts/nightscout-local.sh "
                               "install %s):\n%s" % (install_dir, install_dir, _tail(install.stdout + install.stderr)))
    found = _installed_version(install_dir)
    if found != version:
        command = "install" if version == OLD else "install15"
        raise RuntimeError("Nightscout %s is not installed in %s (found: %s); install it with: "
                           "bash scripts/nightscout-local.sh %s %s%s"
                           % (version, install_dir, found or "nothing", command, install_dir,
                              "" if version == OLD else "  (needs the source archive "
                              "../shared/nightscout/cgm-remote-monitor-15.0.7.tar.gz beside the repository)"))
    secret = "tcs-test-" + secrets.token_hex(8)
    reason = "no free port pair"
    for _attempt in range(3):                      # a port may be taken between probe and bind
        port, db_port = free_port(), free_port()
        if port == db_port:
            continue
        env = dict(os.environ, NSLOCAL_API_SECRET=secret)
        started = subprocess.run(["bash", str(SCRIPT), "start", str(install_dir), str(port), str(db_port)],
                                 capture_output=True, text=True, timeout=180, env=env)
        if started.returncode == 0:
            return RealNightscout("http://127.0.0.1:%d/" % port, secret, port, db_port, install_dir, version)
        reason = _tail(started.stdout + started.stderr, secret)
        if "already in use" not in reason:
            break
    raise RuntimeError("starting Nightscout %s failed:\n%s" % (version, reason))


_shared = {OLD: {"server": None, "error": None}, NEW: {"server": None, "error": None}}


def shared_real_nightscout(version=OLD):
    """The one real Nightscout ``version`` of this process, started on first use (RuntimeError if it cannot).

    A process-wide singleton per version, so that importing ``real_nightscout`` into another
    conftest or test module (which gives pytest a second fixture definition) still starts one
    server, and a failed install is not retried.
    """
    slot = _shared[version]
    if slot["server"] is None and slot["error"] is None:
        try:
            slot["server"] = start_real_nightscout(version)
            atexit.register(stop_shared_real_nightscout, version)     # in case finalizers do not run
        except (RuntimeError, OSError, subprocess.TimeoutExpired) as exc:
            slot["error"] = str(exc)
    if slot["error"] is not None:
        raise RuntimeError(slot["error"])
    return slot["server"]


def stop_shared_real_nightscout(version=OLD):
    slot = _shared[version]
    server, slot["server"] = slot["server"], None
    if server is not None:
        server.stop()


def _real_fixture(version):
    try:
        server = shared_real_nightscout(version)
    except RuntimeError as exc:
        pytest.skip("real Nightscout %s unavailable: %s" % (version, exc))
    return server


@pytest.fixture(scope="session")
def real_nightscout():
    """A real Nightscout 0.12.8 on 127.0.0.1 for the whole session (skips when unavailable).

    Yields a ``RealNightscout``: ``url``, ``secret``, ``flavor``, ``clear()``,
    ``stored_treatments()``, ``stored_activity()``, ``request(method, path, ...)``.
    Tests that use it should call ``clear()`` first (``nightscout_backend`` does).
    """
    server = _real_fixture(OLD)
    try:
        yield server
    finally:
        stop_shared_real_nightscout(OLD)


@pytest.fixture(scope="session")
def real_nightscout_15():
    """A real Nightscout 15.0.7 on 127.0.0.1 for the whole session (skips when not installed)."""
    server = _real_fixture(NEW)
    try:
        yield server
    finally:
        stop_shared_real_nightscout(NEW)


@pytest.fixture(scope="session", params=[OLD, NEW], ids=["real-" + OLD, "real-" + NEW])
def any_real_nightscout(request):
    """Each real Nightscout in turn (0.12.8, then 15.0.7), each skipping on its own."""
    return request.getfixturevalue("real_nightscout" if request.param == OLD else "real_nightscout_15")


BACKENDS = ["fake-0.12.8", "fake-15.0.7", "real-0.12.8", "real-15.0.7"]


@pytest.fixture(params=BACKENDS)
def nightscout_backend(request):
    """Each backend in turn, empty at the start of the test."""
    kind, flavor = request.param.split("-", 1)
    if kind == "real":
        server = request.getfixturevalue("real_nightscout" if flavor == OLD else "real_nightscout_15")
        server.clear()
        try:
            yield server
        finally:
            server.clear()
        return
    secret = "fake-secret-" + secrets.token_hex(6)
    with FakeNightscout(api_secret=secret, flavor=flavor) as fake:
        backend = Backend("fake", flavor, fake.url, secret, fake=fake)
        try:
            yield backend
        finally:
            backend.close()
