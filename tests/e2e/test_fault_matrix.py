"""The fault matrix (issue 11): hosts x faults x once/always, through the real CLI.

Hosts: Tandem login (the SSO and accounts hosts), Tandem data (the Source host), Nightscout
read (GET) and Nightscout write (POST, PUT, DELETE). Faults: HTTP 503, a connection closed
without an answer, an answer slower than the timeout (TCONNECTSYNC_HTTP_TIMEOUT=1), and a
200 answer that is not the JSON expected (HTML). Each fault fires on the first matching request
("once") or on every one ("always"). After the faulty run the faults are cleared and a clean
run must leave exactly the documents a fault-free run leaves. A faulty run may fail (with an
exit code that is not 70 and a sentence, no traceback), but when it says 0 its documents must
already be right.

Each cell has its own sandboxes and HOME (so no token cache or login history is shared); the
cells run four at a time, since most of their time is the client's back-off between retries.
"""
import concurrent.futures
import datetime as dt
import json
import os
import subprocess
import sys
import threading
import time

import pytest

from tconnectsync import timeutil
from tconnectsync.sandbox.nightscout import FakeNightscout
from tconnectsync.sandbox.scenario import make_scenario
from tconnectsync.sandbox.tandemsource import TandemSourceSandbox

from .conftest import REPO

EMAIL, PASSWORD, SECRET = "matrix@example.com", "matr1x pa$$", "matrix-nightscout-secret"
DAY = dt.date(2026, 5, 13)
TZ_NAME = "America/New_York"
HOSTS = ("tandem-login", "tandem-data", "nightscout-read", "nightscout-write")
FAULTS = ("503", "reset", "hang", "malformed")
MODES = ("once", "always")
HANG_S = 2.5                      # longer than the 1 s timeout the runs are given
VOLATILE = ("_id", "srvCreated", "srvModified", "created_at_ms", "mills", "utcOffset")


def _scenario():
    tz = timeutil.get_zone(TZ_NAME)
    return make_scenario(DAY, DAY, tz_name=TZ_NAME, cutoff=timeutil.day_bounds_utc(DAY, tz)[1])


class Cell:
    """One Tandem Source sandbox, one Nightscout and one HOME."""

    def __init__(self, root):
        self.tandem = TandemSourceSandbox(_scenario(), email=EMAIL, password=PASSWORD)
        self.tandem.start()
        self.ns = FakeNightscout(api_secret=SECRET, flavor="15.0.7")
        self.ns.start()
        self.root = root
        root.mkdir(parents=True, exist_ok=True)
        self.vars = {"TCONNECT_API": "source", "TCONNECT_REGION": "US", "TCONNECT_EMAIL": EMAIL,
                     "TCONNECT_PASSWORD": PASSWORD, "NS_URL": self.ns.url, "NS_SECRET": SECRET,
                     "TIMEZONE_NAME": TZ_NAME, "TANDEM_SSO_URL": self.tandem.sso_url,
                     "TCONNECT_SERVICES_URL": self.tandem.services_url,
                     "TANDEM_SOURCE_URL": self.tandem.source_url, "TCONNECTSYNC_HTTP_TIMEOUT": "1",
                     "TCONNECTSYNC_STATE_DIR": str(root / "state")}

    def run(self, *args, timeout=240):
        env = {k: v for k, v in os.environ.items() if not k.startswith(("TCONNECT", "NS_", "PUMP_", "TANDEM"))}
        env.update(self.vars)
        env.update(HOME=str(self.root), PYTHONPATH=REPO)
        return subprocess.Popen([sys.executable, "-m", "tconnectsync", "--start-date", str(DAY), "--end-date",
                                 str(DAY), *args], cwd=str(self.root), env=env, stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, text=True)

    def sync(self, *args, timeout=240):
        proc = self.run(*args)
        out, err = proc.communicate(timeout=timeout)
        proc.out, proc.err, proc.output = out, err, out + err
        return proc

    def documents(self):
        """Every document tconnectsync left in Nightscout, without the fields the server makes up."""
        docs = []
        for kind, items in (("treatments", self.ns.treatments()), ("entries", self.ns.entries()),
                            ("activity", self.ns.activity()), ("profile", self.ns.profiles())):
            for d in items:
                docs.append(json.dumps([kind, {k: v for k, v in d.items() if k not in VOLATILE}], sort_keys=True))
        return sorted(docs)

    def close(self):
        self.tandem.stop()
        self.ns.stop()


def install(cell, host, fault, mode):
    """Make ``host`` fail with ``fault`` once or always; returns the list of requests hit."""
    hits = []
    lock = threading.Lock()

    def fire():
        with lock:
            if mode == "once" and hits:
                return False
            hits.append(1)
            return True

    def outcome(json_host):
        if fault == "503":
            return 503
        if fault == "reset":
            return "drop"
        if fault == "hang":
            time.sleep(HANG_S)
            return None
        return (200, {"Content-Type": "application/json"}, "<html><body>Service Unavailable</body></html>") \
            if json_host else (200, "<html><body>Service Unavailable</body></html>")

    if host.startswith("tandem"):
        wanted = ("sso", "services") if host == "tandem-login" else ("source",)

        def predicate(h, method, path, query):
            if h in wanted and fire():
                return outcome(True)
            return None
        cell.tandem.fail_when(predicate)
    else:
        writing = host == "nightscout-write"

        def ns_predicate(method, path, query):
            if (method in ("POST", "PUT", "DELETE")) == writing and path.startswith("/api/") and fire():
                return outcome(False)
            return None
        cell.ns.fail_when(ns_predicate)
    return hits


def clear(cell):
    cell.tandem.clear_faults()
    cell.ns.fail_when(None)


def one_cell(root, host, fault, mode, baseline):
    cell = Cell(root)
    try:
        hits = install(cell, host, fault, mode)
        faulty = cell.sync()
        during = cell.documents()
        clear(cell)
        clean = cell.sync()
        after = cell.documents()
        problems = []
        if not hits:
            problems.append("the fault never fired")
        if faulty.returncode == 70 or "Traceback" in faulty.output:
            problems.append("the faulty run crashed (exit %d): %s" % (faulty.returncode, faulty.output[-800:]))
        if faulty.returncode == 0 and during != baseline:
            problems.append("the faulty run said 0 but left %d documents, not the %d expected"
                            % (len(during), len(baseline)))
        if faulty.returncode != 0 and not faulty.err.strip():
            problems.append("the faulty run failed (exit %d) without a word" % faulty.returncode)
        if clean.returncode != 0:
            problems.append("the clean rerun exited %d: %s" % (clean.returncode, clean.output[-800:]))
        return {"cell": "%s/%s/%s" % (host, fault, mode), "recovered": faulty.returncode == 0 and during == baseline,
                "exit": faulty.returncode, "wrong": after != baseline, "problems": problems}
    finally:
        cell.close()


@pytest.fixture(scope="module")
def baseline(tmp_path_factory):
    cell = Cell(tmp_path_factory.mktemp("baseline"))
    try:
        result = cell.sync()
        assert result.returncode == 0, result.output
        docs = cell.documents()
        assert docs
        return docs
    finally:
        cell.close()


@pytest.mark.slow
@pytest.mark.parametrize("host", HOSTS)
def test_fault_matrix(host, baseline, tmp_path):
    cells = [(fault, mode) for fault in FAULTS for mode in MODES]
    with concurrent.futures.ThreadPoolExecutor(4) as pool:
        results = list(pool.map(lambda c: one_cell(tmp_path / ("%s-%s" % c), host, c[0], c[1], baseline), cells))
    tried = len(results)
    recovered = sum(r["recovered"] for r in results)
    wrong = sum(r["wrong"] for r in results)
    print("\nfault matrix %s: tried %d, recovered within the faulty run %d, wrong data left after the rerun %d; "
          "exit codes %s" % (host, tried, recovered, wrong, ", ".join("%s=%d" % (r["cell"].split("/", 1)[1], r["exit"])
                                                                      for r in results)))
    assert wrong == 0, [r["cell"] for r in results if r["wrong"]]
    assert [r for r in results if r["problems"]] == []


KILLS = 10


def one_kill(root, delay, baseline):
    """Run the CLI, SIGKILL it ``delay`` seconds after its first Nightscout write arrived, rerun."""
    import signal
    cell = Cell(root)
    cell.vars["NS_BATCH_SIZE"] = "5"                  # many small writes: more moments to be killed in

    def slow_writes(method, path, query):
        if method in ("POST", "PUT", "DELETE"):
            time.sleep(0.05)                          # a write takes a moment, as over a real network
        return None
    cell.ns.fail_when(slow_writes)
    try:
        proc = cell.run()
        deadline = time.monotonic() + 60
        while proc.poll() is None and time.monotonic() < deadline:
            if any(m in ("POST", "PUT", "DELETE") for m, _ in list(cell.ns.request_log)):
                break
            time.sleep(0.005)
        time.sleep(delay)
        killed = proc.poll() is None
        if killed:
            proc.send_signal(signal.SIGKILL)
        proc.communicate(timeout=30)
        writes_before = sum(1 for m, _ in cell.ns.request_log if m in ("POST", "PUT", "DELETE"))
        cell.ns.fail_when(None)
        clean = cell.sync()
        after = cell.documents()
        return {"killed": killed, "writes_before_kill": writes_before, "rerun_exit": clean.returncode,
                "wrong": after != baseline, "output": clean.output[-600:]}
    finally:
        cell.close()


@pytest.mark.slow
def test_sigkill_during_writes_then_a_rerun_leaves_the_fault_free_documents(baseline, tmp_path):
    import random
    seed = int(os.environ.get("TCONNECTSYNC_KILL_SEED") or random.randrange(1 << 30))
    rng = random.Random(seed)
    delays = [rng.uniform(0.0, 0.6) for _ in range(KILLS)]
    with concurrent.futures.ThreadPoolExecutor(2) as pool:
        results = list(pool.map(lambda i: one_kill(tmp_path / ("kill-%d" % i), delays[i], baseline), range(KILLS)))
    killed = [r for r in results if r["killed"]]
    wrong = [r for r in results if r["wrong"] or r["rerun_exit"] != 0]
    print("\nkills (seed %d): tried %d, killed during writes %d (after %s writes), recovered by the rerun %d, "
          "wrong data left %d" % (seed, KILLS, len(killed), ",".join(str(r["writes_before_kill"]) for r in killed),
                                  KILLS - len(wrong), len(wrong)))
    assert len(killed) >= KILLS // 2, "most runs must be killed mid-way (seed %d): %s" % (seed, results)
    assert wrong == [], "seed %d: %s" % (seed, wrong)
