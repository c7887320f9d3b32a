"""End to end: gunicorn (several workers, threads) serving the app against the sandbox servers."""
import collections
import concurrent.futures
import subprocess
import threading
import time

import pytest
import requests

pytest.importorskip("gunicorn", reason="the gunicorn test needs gunicorn: pip install -e '.[test]'")

from tconnectsync.web.runner import RunHistory, parse_iso  # noqa: E402

from .conftest import APP_SECRET, PYTHON, start_process, subprocess_env  # noqa: E402

CALLS = 20


def gunicorn(web_env, tmp_path, extra=None, workers=2):
    environ = dict(web_env.environ)
    environ.update(extra or {})
    args = [PYTHON, "-m", "gunicorn", "--workers", str(workers), "--worker-class", "gthread", "--threads", "8",
            "--timeout", "120", "--graceful-timeout", "3", "--bind", "127.0.0.1:0", "tconnectsync.web:create_app()"]
    return start_process(args, subprocess_env(environ, tmp_path / "home"), tmp_path)


def stop(proc):
    """Stop gunicorn; its output (a pipe, drained here so it never blocks)."""
    proc.terminate()
    try:
        return proc.communicate(timeout=20)[0].decode(errors="replace")
    except subprocess.TimeoutExpired:
        proc.kill()
        return proc.communicate(timeout=5)[0].decode(errors="replace")


def wait_idle(state_dir, timeout=60):
    history = RunHistory(state_dir / "web-runs.json")
    lock = state_dir / "sync.lock"
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        runs = history.runs()
        if runs and all(r.get("state") != "running" for r in runs) and not lock.read_text().strip():
            return runs
        time.sleep(0.05)
    raise AssertionError("runs still going after %d s" % timeout)


def test_twenty_concurrent_runs_start_one_sync_at_a_time(web_env, tmp_path):
    web_env.tandem.latency = 0.1               # a run takes about a second: the burst lands inside it
    proc, line, _ = gunicorn(web_env, tmp_path)
    try:
        base = line.split("Listening at: ", 1)[1].split()[0].rstrip("/")
        barrier = threading.Barrier(CALLS)

        def call(i):
            barrier.wait()
            if i % 2:
                return requests.get(base + "/run", params={"secret": APP_SECRET}, timeout=30)
            return requests.post(base + "/run", headers={"Authorization": "Bearer " + APP_SECRET}, timeout=30)

        t0 = time.monotonic()
        with concurrent.futures.ThreadPoolExecutor(CALLS) as pool:
            answers = list(pool.map(call, range(CALLS)))
        burst = time.monotonic() - t0
        assert [a.status_code for a in answers] == [202] * CALLS
        replies = [a.json() for a in answers]
        started = [r["run_id"] for r in replies if r["started"]]
        runs = wait_idle(web_env.state_dir)
        by_id = {r["id"]: r for r in runs}
        print("\n%d calls in %.2f s: %d started a sync, %d named a running one; runs: %s" % (
            CALLS, burst, len(started), CALLS - len(started),
            ", ".join("%s %.2f s (pid %s)" % (r["id"], r["duration_s"], r["pid"]) for r in runs)))
        assert len(started) >= 1
        assert sorted(started) == sorted(by_id)               # every run recorded was started by one call
        for reply in replies:
            assert reply["run_id"] in by_id                   # the others name a real run
        assert all(r["state"] == "ok" for r in runs)
        spans = sorted((parse_iso(r["started"]), parse_iso(r["finished"])) for r in runs)
        for (_, end), (begin, _) in zip(spans, spans[1:]):
            assert end <= begin, "two syncs overlapped"
        assert len(started) == 1, "the burst outlasted the run: %s" % started

        # Nightscout holds each record once, and a sync now finds nothing to write.
        stored = web_env.ns.treatments()
        idents = collections.Counter(d["identifier"] for d in stored)
        assert stored and max(idents.values()) == 1
        assert len({(d["created_at"], d["eventType"]) for d in stored}) == len(stored)
        update = requests.get(base + "/update", params={"secret": APP_SECRET}, timeout=60)
        assert update.status_code == 200, update.text
        assert update.text.split("\n\n")[0].count(" 0 created, 0 updated") == 3
        assert len(web_env.ns.treatments()) == len(stored)
        health = requests.get(base + "/health", timeout=10)
        assert health.status_code == 200 and health.json()["status"] == "ok"
        page = requests.get(base + "/", timeout=10)
        assert page.status_code == 200 and started[0] in page.text
        assert APP_SECRET not in page.text
    finally:
        output = stop(proc)
        print(output[-2500:])                  # shown when the test fails


def test_a_bad_setting_stops_gunicorn_with_one_sentence(web_env, tmp_path):
    environ = dict(web_env.environ, TCONNECTSYNC_HEROKU_INTERVAL_MINS="every half hour")
    proc = subprocess.run([PYTHON, "-m", "gunicorn", "--workers", "1", "--bind", "127.0.0.1:0",
                           "tconnectsync.web:create_app()"], env=subprocess_env(environ, tmp_path / "home"),
                          cwd=str(tmp_path), capture_output=True, text=True, timeout=60)
    output = proc.stdout + proc.stderr
    assert proc.returncode != 0
    assert "TCONNECTSYNC_HEROKU_INTERVAL_MINS must be a whole number of minutes" in output
    assert "Traceback" not in output


def test_a_stopping_worker_lets_its_sync_finish(web_env, tmp_path):
    web_env.tandem.latency = 0.3               # the sync takes a few seconds
    proc, line, _ = gunicorn(web_env, tmp_path, extra={"TCONNECTSYNC_HEROKU_FEATURES": "BOLUS"}, workers=1)
    base = line.split("Listening at: ", 1)[1].split()[0].rstrip("/")
    started = requests.get(base + "/run", params={"secret": APP_SECRET}, timeout=10).json()
    assert started["started"] is True
    time.sleep(0.3)
    output = stop(proc)                        # SIGTERM while the sync runs
    runs = RunHistory(web_env.state_dir / "web-runs.json").runs()
    assert [(r["id"], r["state"]) for r in runs] == [(started["run_id"], "ok")], output[-2000:]
    assert web_env.ns.treatments()
