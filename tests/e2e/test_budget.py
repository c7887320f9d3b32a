"""Never hang for minutes, and exit codes that say what happened (issue 11): the run budget, a
host that timed out twice, a remote that never answered (exit 4) and some days failed (exit 1).
Real CLI subprocesses; the hanging host is a 127.0.0.1 socket that accepts and never answers."""
import datetime as dt
import json
import socket
import threading
import time

import pytest

from .test_source import source_env  # noqa: F401 - the fixture

START = dt.date(2025, 3, 1)
END = START + dt.timedelta(days=2)
WINDOW = ("--start-date", str(START), "--end-date", str(END), "--features", "BOLUS")


@pytest.fixture
def hanging_host():
    """``http://127.0.0.1:<port>/``: accepts connections and never answers."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(50)
    held, stop = [], threading.Event()

    def accept():
        server.settimeout(0.2)
        while not stop.is_set():
            try:
                held.append(server.accept()[0])
            except OSError:
                pass
    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    yield "http://127.0.0.1:%d/" % server.getsockname()[1]
    stop.set()
    thread.join()
    for conn in held:
        conn.close()
    server.close()


def hang_tandem(env, url):
    return {"TANDEM_SSO_URL": url, "TCONNECT_SERVICES_URL": url, "TANDEM_SOURCE_URL": url}


def timed(env, *args, extra):
    began = time.monotonic()
    result = env.run(*args, extra=extra)
    return result, time.monotonic() - began


def test_a_hanging_tandem_ends_within_the_budget_plus_one_timeout(source_env, hanging_host):  # noqa: F811
    env = source_env(START, END)
    budget, timeout = 6, 4
    result, took = timed(env, *WINDOW, extra=dict(hang_tandem(env, hanging_host), TCONNECTSYNC_RUN_BUDGET=str(budget),
                                                  TCONNECTSYNC_HTTP_TIMEOUT=str(timeout)))
    assert result.returncode == 4, result.output                       # a remote kept failing
    assert took < budget + timeout + 3                                 # + the interpreter's start
    assert "did not answer within 4 seconds" in result.output and "(10, 4" not in result.output
    assert "FAILED %s..%s" % (START, END) in result.stdout
    assert "re-run: tconnectsync --start-date %s --end-date %s" % (START, END) in result.stdout
    assert "Traceback" not in result.output


def test_a_host_that_timed_out_twice_is_not_asked_again(source_env):  # noqa: F811
    env = source_env(START, END)
    asked = []

    def hang(host, method, path, query):
        if "pump-logs" in path:
            asked.append(path)
            time.sleep(3)                       # longer than TCONNECTSYNC_HTTP_TIMEOUT
        return None
    env.tandem.fail_when(hang)
    result, took = timed(env, *WINDOW, "--json", extra={"TCONNECTSYNC_HTTP_TIMEOUT": "1"})
    assert result.returncode == 4, result.output
    report = json.loads(result.stdout)
    assert report["nothing_synced"] is True
    assert report["rerun"] == [{"start": str(START), "end": str(END),
                                "command": "tconnectsync --start-date %s --end-date %s" % (START, END)}]
    reasons = [f["reason"] for f in report["failures"]]
    assert "Tandem Source did not answer within 1 second after 2 attempts" in result.stderr   # the 3-day chunk
    assert len(reasons) == 3                                            # then each day, without asking
    assert all("did not answer twice in this run; not asking it again until the next run" in r for r in reasons)
    assert len(asked) == 2                                              # then never again
    assert took < 10                                                    # two 1-second timeouts and a back-off


@pytest.mark.slow
def test_a_hanging_tandem_with_the_default_settings_ends_well_within_the_cron_interval(source_env, hanging_host):  # noqa: F811
    env = source_env(START, END)
    result, took = timed(env, *WINDOW, extra=hang_tandem(env, hanging_host))
    assert result.returncode == 4, result.output
    assert took < 240 + 60                # the default budget (4 minutes) + one default timeout
    assert "did not answer within 60 seconds" in result.output


def test_tandem_failing_for_every_day_exits_4_and_some_days_exits_1(source_env):  # noqa: F811
    env = source_env(START, END)
    env.tandem.fail_when(lambda host, method, path, query: 503 if "pump-logs" in path else None)
    extra = {"TCONNECTSYNC_RUN_BUDGET": "5"}        # the budget also cuts the back-off sleeps short
    result = env.run(*WINDOW, extra=extra)
    assert result.returncode == 4, result.output
    assert result.stdout.startswith("Nothing synced: Tandem Source did not answer")
    assert "a remote kept failing" in result.stderr.splitlines()[-1] or \
        "kept failing" in result.stderr.splitlines()[-1]
    env.tandem.clear_faults()
    broken = str(END)
    env.tandem.fail_when(lambda host, method, path, query:
                         503 if "pump-logs" in path and broken in str(query) else None)
    partial = env.run(*WINDOW, extra=extra)
    assert partial.returncode == 1, partial.output
    assert "re-run: tconnectsync --start-date %s --end-date %s" % (broken, broken) in partial.stdout
    assert "some days could not be synced (%s)" % broken in partial.stderr
