"""Overlapping runs (issue 11): the run lock in the state folder, the profile written once even
without it, and the IOB document that converges -- through the real CLI (subprocesses) and the
real engine against the sandboxes on 127.0.0.1."""
import datetime as dt
import os
import stat
import subprocess
import sys
import threading
import types

from tconnectsync.config import load_config
from tconnectsync.nightscout import NightscoutClient
from tconnectsync.runlock import lock_name, run_lock
from tconnectsync.runtime import build_clients, close_clients
from tconnectsync.sync.documents import ENTERED_BY
from tconnectsync.sync.engine import sync_once
from tconnectsync.sync.iob import ACTIVITY_TYPE

from .conftest import REPO
from .test_source import EMAIL, PASSWORD, source_env  # noqa: F401 - the fixture

START, END = dt.date(2025, 3, 1), dt.date(2025, 3, 2)
WINDOW = ("--start-date", str(START), "--end-date", str(END))


def environment(env, extra=None):
    """The environment ``SourceEnv.run`` gives the CLI, for runs started side by side."""
    out = {k: v for k, v in os.environ.items() if not k.startswith(("TCONNECT", "NS_", "PUMP_", "TANDEM"))}
    out.update(env.vars)
    out.update(TCONNECTSYNC_STATE_DIR=str(env.tmp_path / "state"))
    out.update(extra or {})
    out.update(HOME=str(env.tmp_path), PYTHONPATH=REPO)
    return out


def start_run(env, *args, extra=None):
    return subprocess.Popen([sys.executable, "-m", "tconnectsync", *args], cwd=str(env.tmp_path),
                            env=environment(env, extra), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def identifiers(docs):
    return [d.get("identifier") for d in docs]


def test_three_simultaneous_runs_leave_one_profile_and_no_duplicates(source_env):  # noqa: F811
    env = source_env(START, END)
    runs = [start_run(env, *WINDOW, "--features", "BASAL", "BOLUS", "PROFILES") for _ in range(3)]
    results = [(p.wait(timeout=240), *p.communicate()) for p in runs]
    for code, out, err in results:
        assert code == 0, out + err
    profiles = env.ns.profiles()
    assert len(profiles) == 1, profiles
    treatments = identifiers(env.ns.treatments())
    assert treatments and len(treatments) == len(set(treatments))
    # the runs took turns: at most one found Nightscout empty
    assert sum("0 created" not in out.split("PROFILES:")[1].splitlines()[0] for _, out, _ in results) == 1
    lock = [p for p in (env.tmp_path / "state").iterdir() if p.name.startswith("run-")]
    assert [p.name for p in lock] == [lock_name(EMAIL, env.ns.url)]
    assert stat.S_IMODE(lock[0].stat().st_mode) == 0o600
    assert EMAIL.split("@")[0] not in lock[0].name and PASSWORD not in lock[0].read_text()


def test_a_second_run_waits_a_bounded_time_then_says_so(source_env):  # noqa: F811
    env = source_env(START, START)
    holder = types.SimpleNamespace(state_dir=str(env.tmp_path / "state"), email=EMAIL, ns_url=env.ns.url,
                                   lock_wait=0)
    with run_lock(holder):
        waited = start_run(env, *WINDOW, extra={"TCONNECTSYNC_LOCK_WAIT": "1"})
        code = waited.wait(timeout=60)
        out, err = waited.communicate()
    assert code == 7, out + err
    last = err.splitlines()[-1]
    assert out == "" and "Traceback" not in err
    assert last.startswith("tconnectsync: another tconnectsync run for this Tandem account and Nightscout site is "
                           "still going after 1 second (lock file ") and last.endswith("TCONNECTSYNC_LOCK_WAIT.")
    assert env.tandem.login_attempts == 0 and env.ns.treatments() == []       # nothing was asked, nothing written
    after = start_run(env, *WINDOW)                                            # the lock is free again
    assert after.wait(timeout=120) == 0, after.communicate()


def _config(env):
    return load_config(environment(env, {"TCONNECTSYNC_STATE_DIR": ""}), env_file=None, home=str(env.tmp_path))


class MeetBeforeWriting(NightscoutClient):
    """A real Nightscout client whose profile writes wait until both racing engines have read."""

    def __init__(self, *args, barrier, **kw):
        super().__init__(*args, **kw)
        self.barrier = barrier

    def upload_profile(self, doc, what="adding a profile"):
        self.barrier.wait(timeout=30)
        super().upload_profile(doc, what)

    def update_profile(self, doc, what="replacing the profile"):
        self.barrier.wait(timeout=30)
        super().update_profile(doc, what)


def test_two_engines_racing_without_the_lock_write_one_profile(source_env):  # noqa: F811
    env = source_env(START, START)
    config = _config(env)
    barrier = threading.Barrier(2)
    outcomes = []

    def run():
        clients = build_clients(config)
        clients.nightscout = MeetBeforeWriting(config.ns_url, config.ns_secret, barrier=barrier)
        try:
            outcomes.append(sync_once(config, clients, (START, START), ("PROFILES",)))
        finally:
            close_clients(clients)
    threads = [threading.Thread(target=run) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert len(outcomes) == 2 and all(s.ok for s in outcomes)
    assert len(env.ns.profiles()) == 1                 # both wrote, the same document
    again = build_clients(config)
    try:
        summary = sync_once(config, again, (START, START), ("PROFILES",))
    finally:
        close_clients(again)
    assert summary.counts["PROFILES"].created == 0 and len(env.ns.profiles()) == 1


def test_a_stale_iob_document_is_removed_by_the_next_run(source_env):  # noqa: F811
    env = source_env(START, END)
    leftovers = [{"activityType": ACTIVITY_TYPE, "iob": iob, "created_at": when, "enteredBy": ENTERED_BY,
                  "identifier": ident}
                 for iob, when, ident in ((1.5, "2025-02-27T10:00:00Z", "left-1"), (0.7, "2025-02-28T10:00:00Z",
                                                                                     "left-2"))]
    other = {"activityType": ACTIVITY_TYPE, "iob": 9, "created_at": "2025-02-28T11:00:00Z", "enteredBy": "someone"}
    env.ns.seed("activity", leftovers + [other])      # two runs killed between their write and their delete
    result = env.run(*WINDOW, "--features", "IOB", "--json")
    assert result.returncode == 0, result.output
    ours = [a for a in env.ns.activity() if a.get("enteredBy") == ENTERED_BY]
    assert len(ours) == 1 and ours[0]["identifier"] not in ("left-1", "left-2")
    assert any(a.get("enteredBy") == "someone" for a in env.ns.activity())    # not ours: left alone
    assert '"deleted": 1' in result.stdout            # one leftover beyond the usual replacement
    # a run killed after its write left the new one beside an old one: the next run converges
    env.ns.seed("activity", [dict(leftovers[0])])
    again = env.run(*WINDOW, "--features", "IOB")
    assert again.returncode == 0, again.output
    ours = [a for a in env.ns.activity() if a.get("enteredBy") == ENTERED_BY]
    assert len(ours) == 1 and ours[0]["identifier"] not in ("left-1", "left-2")


def test_the_daemon_holds_the_lock_per_cycle_so_a_backfill_slips_in_between(source_env):  # noqa: F811
    import json
    import signal
    import time
    env = source_env(START, END)
    status = env.tmp_path / "status.json"
    daemon = start_run(env, "--auto-update", "--interval", "600", "--status-file", str(status))
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            try:
                if json.loads(status.read_text()).get("state") == "polling":
                    break
            except (OSError, ValueError):
                pass
            time.sleep(0.2)
        else:
            raise AssertionError("the daemon never finished its first cycle")
        backfill = start_run(env, *WINDOW, extra={"TCONNECTSYNC_LOCK_WAIT": "2"})
        code = backfill.wait(timeout=120)
        out, err = backfill.communicate()
        assert code == 0, out + err                   # between two cycles the lock is free
        assert daemon.poll() is None                  # and the daemon is still running
    finally:
        daemon.send_signal(signal.SIGTERM)
        daemon.wait(timeout=30)
        daemon.communicate()
