"""What a person (or a script, or cron) sees: the summary adds up, -q, --json, "Nothing synced",
--check-login, the demo, and the progress bar in a narrow terminal -- all through the real CLI
against the sandboxes on 127.0.0.1."""
import datetime as dt
import json
import os
import re
import subprocess
import sys

import pytest

from tconnectsync import status
from tconnectsync.sync.skips import LABELS

from .conftest import PASSWORD, REPO
from .test_source import PASSWORD as SOURCE_PASSWORD
from .test_source import SECRET as SOURCE_SECRET
from .test_source import source_env  # noqa: F401 - the fixture
from ..cli.test_first_contact import run_cli
from ..ptyrun import run_on_pty

START, END = dt.date(2025, 3, 1), dt.date(2025, 3, 10)
ALL_SOURCE = ["BASAL", "BOLUS", "IOB", "PUMP_EVENTS", "PROFILES", "CGM", "CGM_ALERTS"]
OUTCOMES = ("created", "updated", "unchanged", "merged", "skipped")


def zero_unit_boluses(scenario, start, end):
    """Boluses the scenario's pump completed with nothing delivered (User Aborted at once)."""
    return [b for b in scenario.truth_boluses(start, end)
            if (b.delivered or 0) + (b.extended_delivered or 0) <= 0 and not (b.extended and not b.extended_complete)]


def assert_adds_up(report, nonempty=True):
    for feature, c in report["features"].items():
        assert c["fetched"] == sum(c[k] for k in OUTCOMES), (feature, c)
        assert c["skipped"] == sum(c["skip_reasons"].values()), (feature, c)
        assert c["unreadable"] == c["skip_reasons"].get("unreadable", 0)
        assert c["fetched"] > 0 or not nonempty, feature


def one_json(result):
    """stdout holds one JSON object and nothing else."""
    lines = result.stdout.splitlines()
    assert len(lines) == 1, result.stdout
    return json.loads(lines[0])


# ------------------------------------------------------------------------- the summary adds up

def test_summary_adds_up_with_tandem_source(source_env):  # noqa: F811
    env = source_env(START, END)
    zero = zero_unit_boluses(env.scenario, START, END)
    assert zero, "the scenario has no zero-unit bolus in this window: pick another"
    args = ("--start-date", str(START), "--end-date", str(END), "--features", *ALL_SOURCE)
    first = env.run(*args, "--json")
    assert first.returncode == 0, first.output
    report = one_json(first)
    assert report["ok"] is True and report["exit_code"] == 0 and report["chunks"] == 2
    assert report["window"] == {"start": str(START), "end": str(END), "time_zone": "America/New_York", "days": 10}
    assert_adds_up(report)
    bolus = report["features"]["BOLUS"]
    assert bolus["skip_reasons"]["bolus-zero"] == len(zero)
    assert report["skipped"]["bolus-zero"]["count"] == len(zero)
    # what was created is what Nightscout holds
    stored = env.ns.treatments()
    assert bolus["created"] == sum(1 for d in stored if d["eventType"] == "Combo Bolus")
    assert report["features"]["BASAL"]["created"] == sum(1 for d in stored if d["eventType"] == "Temp Basal")
    assert report["features"]["CGM"]["created"] == len(env.ns.entries())
    assert report["features"]["BASAL"]["merged"] > 0          # suspensions/resumes at their 279 row
    assert report["features"]["PUMP_EVENTS"]["merged"] > 0    # Sleep/Exercise stops
    # logs stay on stderr: one plain line per chunk without a terminal
    assert "Chunk 1/2" in first.stderr and "Chunk 2/2" in first.stderr

    second = env.run(*args)
    assert second.returncode == 0, second.output
    text = second.stdout
    # the same records, now all already there; the skips grouped by reason without -v
    assert "BOLUS:" in text and "%d fetched: 0 created, 0 updated, %d already there" % (
        bolus["fetched"], bolus["created"]) in text
    assert "%d %s" % (len(zero), LABELS["bolus-zero"][len(zero) > 1]) in text
    assert re.search(r"^  \d+ skipped: ", text, re.M), text
    again = one_json(env.run(*args, "--json"))
    assert_adds_up(again)
    for feature, c in again["features"].items():
        assert c["created"] == c["updated"] == 0, (feature, c)
        assert c["fetched"] == report["features"][feature]["fetched"]


def test_summary_adds_up_with_legacy_tconnect(make_env):
    env = make_env(START, END)
    zero = zero_unit_boluses(env.scenario, START, END)
    assert zero
    args = ("--start-date", str(START), "--end-date", str(END), "--features", "BASAL", "BOLUS", "IOB", "PUMP_EVENTS")
    result = env.run(*args, "--json")
    assert result.returncode == 0, result.output
    report = one_json(result)
    assert_adds_up(report)
    assert report["features"]["BOLUS"]["skip_reasons"] == {"bolus-zero": len(zero)}
    stored = env.ns.treatments()
    assert report["features"]["BOLUS"]["created"] == sum(1 for d in stored if d["eventType"] == "Combo Bolus")
    text = env.run(*args).stdout
    assert "%d %s" % (len(zero), LABELS["bolus-zero"][len(zero) > 1]) in text
    assert_adds_up(one_json(env.run(*args, "--json")))


def test_unreadable_records_are_counted_apart_from_skips(make_env):
    env = make_env(START, START)

    def unknown_reason(host, method, path, query):
        if "basalsuspension" not in path:
            return None
        body = ('cb({"BasalSuspension": [{"EventDateTime": "/Date(1740830400000-0000)/", '
                '"SuspendReason": "teleport"}]})')
        return 200, {"Content-Type": "application/javascript"}, body
    env.tandem.fail_when(unknown_reason)
    result = env.run("--start-date", str(START), "--end-date", str(START), "--features", "PUMP_EVENTS", "--json")
    report = one_json(result)
    assert_adds_up(report)
    events = report["features"]["PUMP_EVENTS"]
    assert events["unreadable"] == 1 and "teleport" in result.stderr
    assert report["warnings"] >= 1
    text = env.run("--start-date", str(START), "--end-date", str(START), "--features", "PUMP_EVENTS").stdout
    assert LABELS["unreadable"][0] in text


# ------------------------------------------------------------------------------ -q and --json

def test_quiet_prints_nothing_when_all_went_well(source_env):  # noqa: F811
    env = source_env(START, START)
    result = env.run("--start-date", str(START), "--end-date", str(START), "-q")
    assert result.returncode == 0
    assert result.stdout == "" and result.stderr == ""
    assert env.ns.treatments(), "the quiet run synced nothing"


@pytest.mark.slow
def test_quiet_prints_the_summary_when_a_day_failed(source_env):  # noqa: F811
    env = source_env(START, START + dt.timedelta(days=1))
    broken = str(START + dt.timedelta(days=1))

    def fail_second_day(host, method, path, query):
        return 500 if "pump-logs" in path and broken in str(query) else None
    env.tandem.fail_when(fail_second_day)
    result = env.run("--start-date", str(START), "--end-date", broken, "-q")
    assert result.returncode != 0
    assert "FAILED %s..%s" % (broken, broken) in result.stdout
    assert "re-run: tconnectsync --start-date %s --end-date %s" % (broken, broken) in result.stdout
    assert " INFO " not in result.stderr                      # only warnings and errors
    assert SOURCE_PASSWORD not in result.output and SOURCE_SECRET not in result.output


@pytest.mark.slow
def test_json_reports_failures_with_dates_and_nothing_else_on_stdout(source_env):  # noqa: F811
    env = source_env(START, START + dt.timedelta(days=1))
    broken = str(START + dt.timedelta(days=1))
    env.tandem.fail_when(lambda host, method, path, query:
                         500 if "pump-logs" in path and broken in str(query) else None)
    result = env.run("--start-date", str(START), "--end-date", broken, "--json")
    report = one_json(result)
    assert result.returncode == report["exit_code"] != 0
    assert report["ok"] is False and report["nothing_synced"] is False
    (failure,) = report["failures"]
    assert (failure["start"], failure["end"], failure["remote"]) == (broken, broken, "Tandem Source")
    assert report["rerun"] == [{"start": broken, "end": broken,
                                "command": "tconnectsync --start-date %s --end-date %s" % (broken, broken)}]
    assert_adds_up(report, nonempty=False)          # IOB comes from the last day, which failed
    assert report["features"]["BOLUS"]["created"] > 0   # the first day synced


@pytest.mark.slow
def test_nothing_synced_says_so_first(source_env):  # noqa: F811
    env = source_env(START, START + dt.timedelta(days=2))
    env.tandem.fail_when(lambda host, method, path, query: 503 if "pump-logs" in path else None)
    result = env.run("--start-date", str(START), "--end-date", str(START + dt.timedelta(days=2)))
    assert result.returncode != 0
    first = result.stdout.splitlines()[0]
    assert first.startswith("Nothing synced: Tandem Source did not answer for %s..%s" % (
        START, START + dt.timedelta(days=2))), result.stdout
    assert "Synced" not in result.stdout
    report = one_json(env.run("--start-date", str(START), "--end-date", str(START + dt.timedelta(days=2)), "--json"))
    assert report["nothing_synced"] is True and report["ok"] is False


@pytest.mark.parametrize("args", [["--json", "--check-login"], ["--json", "--auto-update"], ["-q", "-v"]])
def test_json_and_quiet_misuse_is_a_usage_error(args):
    result = subprocess.run([sys.executable, "-m", "tconnectsync", *args], capture_output=True, text=True,
                            env={"PATH": "/usr/bin:/bin", "PYTHONPATH": REPO, "HOME": "/nonexistent"}, timeout=60)
    assert result.returncode == 2 and result.stdout == ""
    assert "tconnectsync: error:" in result.stderr


# --------------------------------------------------------------------------------- --check-login

def test_check_login_source_shows_what_the_readme_promises(source_env, tmp_path):  # noqa: F811
    env = source_env(START, START + dt.timedelta(days=1))
    path = tmp_path / "status.json"
    status.write(path, {"state": "polling", "last_poll": "2025-03-02T10:00:00Z", "last_success": "2025-03-02T09:55:00Z"})
    result = env.run("--check-login", "--start-date", str(START), "--end-date", str(START + dt.timedelta(days=1)),
                     extra={"TCONNECTSYNC_STATUS_FILE": str(path)})
    assert result.returncode == 0, result.output
    out = result.stdout
    assert out.startswith("tconnectsync 2.") and "Python" in out
    assert re.search(r"info  no settings file found \(looked in \S+\.env, \S+/tconnectsync/\.env\); settings "
                     r"come from the environment", out), out
    assert re.search(r"TIMEZONE_NAME=America/New_York: pump time now \S+ \S+ \(UTC-0[45]:00\)", out), out
    assert "window: %s..%s (2 days); Tandem API: Tandem Source, region US" % (START, START + dt.timedelta(days=1)) in out
    assert "ok    pumps on the account: 11111111 (t:slim X2)" in out
    assert re.search(r"ok    pumps synced: 11111111 \(t:slim X2\) 2025-\d\d-\d\d\.\.2025-\d\d-\d\d "
                     r"\(PUMP_SERIAL_NUMBER not set", out), out
    assert "info  Nightscout: %s" % env.ns.url.rstrip("/") in out
    assert "ok    Nightscout: version 15.0.7, secret accepted" in out
    assert "auto-update status file %s: state polling, last poll 2025-03-02T10:00:00Z" % path in out
    assert "All checks passed." in out
    assert SOURCE_PASSWORD not in result.output and SOURCE_SECRET not in result.output


def test_check_login_source_wrong_password_skips_what_needs_the_login(source_env):  # noqa: F811
    env = source_env(START, START)
    result = env.run("--check-login", extra={"TCONNECT_PASSWORD": "not the password"})
    assert result.returncode == 1
    out = result.stdout
    assert "FAIL  Tandem Source login" in out
    for name in ("pumps on the account", "pumps synced", "pump events"):
        assert "skip  %s: skipped: login failed" % name in out
    assert out.count("FAIL") == 1 and "1 check failed." in out
    assert "ok    Nightscout: version 15.0.7" in out               # it does not need Tandem
    assert "auto-update status file" in out and "none yet" in out
    assert env.tandem.login_attempts == 1
    assert "not the password" not in result.output


# ------------------------------------------------------------------------------------- the demo

def screen_lines(text, width=80):
    return sum(max(1, -(-len(line) // width)) for line in text.splitlines())


def run_demo(tmp_path, *args, tty=False):
    """The demo as a new user starts it; ``tty``: at a terminal (a bare command shows the demo
    only there, see tests/cli/test_first_contact.py)."""
    env = {"PATH": "/usr/bin:/bin", "HOME": str(tmp_path), "PYTHONPATH": REPO}
    if tty:
        return run_cli(list(args), env, str(tmp_path), tty=True)
    return subprocess.run([sys.executable, "-m", "tconnectsync", *args], capture_output=True, text=True,
                          cwd=str(tmp_path), env=env, timeout=120)


def test_demo_fits_a_screen_and_ends_with_the_hint(tmp_path):
    result = run_demo(tmp_path, tty=True)
    assert result.returncode == 0, result.output if hasattr(result, "output") else result.stderr
    assert result.stderr == ""                                   # no log lines without -v
    lines = result.stdout.splitlines()
    assert max(len(line) for line in lines) <= 80
    assert screen_lines(result.stdout) <= 16, result.stdout
    assert lines[0] == "No tconnectsync settings found: running the built-in demo."
    assert lines[-1] == "To sync your own pump: copy .env.example to .env and fill it in."
    assert "e.g." not in result.stdout
    assert "A second run of the same window wrote 0 documents, as it should." in result.stdout
    for feature in ("BASAL", "BOLUS", "IOB", "PUMP_EVENTS"):
        assert re.search(r"^  %s: +\d+ fetched: \d+ created" % feature, result.stdout, re.M), result.stdout


def test_demo_verbose_shows_one_example_per_type(tmp_path):
    result = run_demo(tmp_path, "--demo", "-v")
    assert result.returncode == 0, result.stderr
    examples = [json.loads(line.split("e.g. ", 1)[1]) for line in result.stdout.splitlines() if "  e.g. " in line]
    types = [d["eventType"] for d in examples]
    assert "Temp Basal" in types and "Combo Bolus" in types and len(types) == len(set(types))
    assert result.stdout.rstrip().endswith("copy .env.example to .env and fill it in.")


def test_demo_json(tmp_path):
    result = run_demo(tmp_path, "--demo", "--json")
    assert result.returncode == 0, result.stderr
    report = one_json(result)
    assert_adds_up(report)


# ------------------------------------------------------------------------------ progress on a tty

ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")
LOG_LINE = re.compile(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d (INFO|WARNING|ERROR|DEBUG) ")


def run_in_pty(env, args, columns, timeout=120):
    child_env = {k: v for k, v in os.environ.items() if not k.startswith(("TCONNECT", "NS_", "PUMP_", "TANDEM"))}
    child_env.update(env.vars)
    child_env.update(HOME=str(env.tmp_path), PYTHONPATH=REPO, TERM="xterm")
    child_env.pop("COLUMNS", None)
    code, shown, _ = run_on_pty(args, child_env, str(env.tmp_path), columns=columns, stderr_apart=False,
                                timeout=timeout)
    return code, shown


def test_progress_bar_in_a_narrow_terminal(source_env):  # noqa: F811
    start, end = dt.date(2025, 1, 1), dt.date(2025, 2, 4)       # 35 days: 5 chunks of 7
    env = source_env(start, end)
    env.tandem.latency = 0.05                                    # let the bar show some time

    def refuse_third_week(host, method, path, query):
        # the third 7-day chunk fails as a whole (read with its margin day each side, or alone):
        # a warning is logged while the bar runs
        q = str(query)
        whole = ("2025-01-14T00" in q and "2025-01-22T23" in q) or ("2025-01-15T00" in q and "2025-01-21T23" in q)
        return 400 if "pump-logs" in path and whole else None
    env.tandem.fail_when(refuse_third_week)
    code, raw = run_in_pty(env, ["--start-date", str(start), "--end-date", str(end)], columns=40)
    assert code == 0, raw
    text = ANSI.sub("", raw)
    summary_at = text.index("Synced %s" % start)
    # the bar's and the logs' part (the summary after it is plain text the terminal wraps):
    # every piece the terminal shows on one line, between carriage returns and newlines
    pieces = [p for line in text[:summary_at].split("\n") for p in line.split("\r")]
    too_wide = [p for p in pieces if len(p.rstrip()) > 40]
    assert not too_wide, too_wide
    bars = [p for p in pieces if "|" in p and "days [" in p]
    assert bars, text
    assert any(re.search(r"\d+/35 days \[\d\d:\d\d<", p) for p in bars), bars        # elapsed < remaining
    # log lines whole: each starts a line of its own (never after a bar) and its wrapped rest
    # follows on indented lines
    lines = [p for p in text.replace("\r\n", "\n").split("\n")]
    logged = []
    for i, line in enumerate(lines):
        piece = line.split("\r")[-1]
        if LOG_LINE.search(piece):
            assert "|" not in piece and "days [" not in piece, piece
            whole = piece
            for rest in lines[i + 1:]:
                if not rest.startswith("    "):
                    break
                whole += " " + rest.strip()
            logged.append(re.sub(r"\s+", " ", whole))
    assert any("Logged in to Tandem Source (US); the token is valid for 8 hours" in m for m in logged), logged
    assert any("Syncing 11111111 (t:slim X2)" in m for m in logged), logged
    during = [m for m in logged if "WARNING Syncing 2025-01-15..2025-01-21 failed" in m]
    assert len(during) == 1 and during[0].endswith("trying day by day"), logged
    # it came while the bar was up: bars before and after it
    at = text.index("2025-01-15..2025-01-21 failed")
    assert "days [" in text[:at] and "days [" in text[at:summary_at]
    assert PASSWORD not in raw and SOURCE_PASSWORD not in raw
    # the summary comes after the bar is gone
    assert re.search(r"^Synced %s\.\.%s" % (start, end), text.replace("\r", "\n"), re.M), text


# ------------------------------------------------------------------ README agrees with the tool

def test_readme_names_every_basal_reason_the_tool_writes():
    from tconnectsync import timeutil
    from tconnectsync.sync.basal import KIND_REASON
    from tconnectsync.sync.tandemsource_docs import source_documents
    from tests.parser._source import basal, ev
    readme = open(os.path.join(REPO, "README.md"), encoding="utf-8").read()
    rows = [line for line in readme.splitlines() if line.startswith("| BASAL |")]
    assert len(rows) == 2, rows                       # the legacy table and the Tandem Source one
    legacy, source = rows
    for reason in KIND_REASON.values():
        assert "`%s`" % reason in legacy, reason
    assert "`algorithmDelivery (control-iq suspension)`" in legacy and "`manual suspension`" in legacy
    # Tandem Source: what the mapping writes for each commanded rate source (279's enum 0..4),
    # and for a suspension logged without a 279 row
    tz = timeutil.get_zone("America/New_York")
    events = [basal(i + 1, "2025-03-01T10:%02d:00" % (5 * i), 800, source=i) for i in range(5)]
    events += [ev(11, 6, "2025-03-01T10:30:00", suspendReason=0), ev(12, 7, "2025-03-01T10:40:00"),
               basal(8, "2025-03-01T10:45:00", 800, source=3)]
    result = source_documents(events, ("BASAL",), "11111111", tz,
                              now=dt.datetime(2025, 3, 2, tzinfo=dt.timezone.utc))
    written = {d.get("reason") for _, d in result.treatments}
    assert written == {"Suspended", "Profile", "TempRate", "Algorithm", "TempRateAndAlgorithm"}, written
    for reason in written:
        assert "`%s`" % reason in source, reason
