"""The CLI's contract with a person: flags, settings, --check-login, --version, --demo."""
import datetime as dt
import subprocess
import sys

import pytest

from .conftest import PASSWORD, REPO


def test_check_login_passes(make_env):
    env = make_env(dt.date(2021, 10, 20), dt.date(2021, 10, 21))
    result = env.run("--check-login", "--start-date", "2021-10-20", "--end-date", "2021-10-21")
    assert result.returncode == 0, result.output
    assert "All checks passed." in result.stdout
    assert "TIMEZONE_NAME=America/New_York" in result.stdout and "UTC-" in result.stdout
    assert "configured %s, found %s" % (env.scenario.serial, env.scenario.serial) in result.stdout
    assert PASSWORD not in result.output


def test_check_login_fails_on_wrong_password_and_wrong_secret(make_env):
    env = make_env(dt.date(2021, 10, 20), dt.date(2021, 10, 21))
    result = env.run("--check-login", extra={"TCONNECT_PASSWORD": "wrong password", "NS_SECRET": "wrong-secret-123"})
    assert result.returncode == 1
    assert "FAIL  t:connect website login" in result.stdout
    assert "FAIL  Nightscout" in result.stdout
    assert "wrong password" not in result.output and "wrong-secret-123" not in result.output
    # wrong credentials are not retried: one website attempt, one Android attempt
    assert env.tandem.login_attempts <= 2


def test_wrong_password_sync_fails_once_with_a_sentence(make_env):
    env = make_env(dt.date(2021, 10, 20), dt.date(2021, 10, 21))
    result = env.run(extra={"TCONNECT_PASSWORD": "nope"})
    assert result.returncode == 3
    assert "refused the e-mail address or password" in result.stderr
    assert "Traceback" not in result.output
    assert env.tandem.login_attempts == 1


@pytest.mark.parametrize("drop,extra,word", [
    (("NS_URL",), {}, "NS_URL"),
    (("TIMEZONE_NAME",), {}, "TIMEZONE_NAME"),
    ((), {"PUMP_SERIAL_NUMBER": "12ab"}, "PUMP_SERIAL_NUMBER"),
    ((), {"NS_URL": "nightscout.example.com"}, "NS_URL"),
    ((), {"TIMEZONE_NAME": "America/Nowhere"}, "TIMEZONE_NAME"),
])
def test_bad_settings_get_one_sentence(make_env, drop, extra, word):
    env = make_env(dt.date(2021, 10, 20), dt.date(2021, 10, 20))
    result = env.run(drop=drop, extra=extra)
    assert result.returncode == 2
    assert word in result.stderr and "Traceback" not in result.output
    assert len(result.stderr.strip().splitlines()) == 1


@pytest.mark.parametrize("args", [
    ["--start-date", "2021-01-01"],
    ["--days", "2", "--start-date", "2021-01-01", "--end-date", "2021-01-02"],
    ["--start-date", "2021-02-01", "--end-date", "2021-01-01"],
    ["--start-date", "2021-13-01", "--end-date", "2021-01-01"],
    ["--days", "zero"],
    ["--features", "NOPE"],
])
def test_flag_misuse_is_a_usage_error(args):
    result = subprocess.run([sys.executable, "-m", "tconnectsync", *args], capture_output=True, text=True,
                            cwd=REPO, timeout=60)
    assert result.returncode == 2
    assert "usage:" in result.stderr and "Traceback" not in result.stderr


def test_version_and_entry_points_agree():
    outs = []
    for cmd in ([sys.executable, "-m", "tconnectsync", "--version"], [sys.executable, "main.py", "--version"]):
        result = subprocess.run(cmd, capture_output=True, text=True, cwd=REPO, timeout=60)
        assert result.returncode == 0
        outs.append(result.stdout.strip())
    assert outs[0] == outs[1] and outs[0].startswith("tconnectsync ")


def test_days_means_n_calendar_days_ending_today():
    """--days N covers N pump-local days ending today; the default is yesterday and today."""
    import argparse
    import pytz
    from tconnectsync.cli import window_for
    tz = pytz.timezone("America/New_York")
    just_after_midnight = dt.datetime(2026, 3, 10, 5, 5, tzinfo=dt.timezone.utc)     # 00:05 in New York
    today = dt.date(2026, 3, 10)

    def window(days):
        return window_for(argparse.Namespace(start_date=None, end_date=None, days=days), tz, just_after_midnight)
    assert window(None) == (dt.date(2026, 3, 9), today)          # a cron run after midnight keeps yesterday
    assert window(1) == (today, today)
    assert window(2) == (dt.date(2026, 3, 9), today)
    assert window(3) == (dt.date(2026, 3, 8), today)
    help_text = subprocess.run([sys.executable, "-m", "tconnectsync", "--help"], capture_output=True, text=True,
                               cwd=REPO, timeout=60).stdout
    assert "1 is today only" in " ".join(help_text.split()) and "yesterday and today" in help_text


def test_days_window_through_the_command(make_env):
    env = make_env(dt.date(2021, 10, 20), dt.date(2021, 10, 21))
    result = env.run("--pretend", "--days", "3", "--features", "BOLUS")
    assert result.returncode == 0, result.output
    today = dt.datetime.now(dt.timezone.utc).astimezone(__import__("pytz").timezone(env.tz_name)).date()
    assert "plan for %s..%s" % (today - dt.timedelta(days=2), today) in result.stdout


def _fail_basal_reads(env, only_start=None):
    """Tandem's Control:IQ therapy timeline answers 503 (for every window, or those starting on
    ``only_start``): the sandbox's fault injection, over real HTTP."""
    def predicate(host, method, path, query):
        if host == "services" and "/controliq/api/therapytimeline/" in path:
            if only_start is None or query.get("startDate") == only_start.strftime("%m-%d-%Y"):
                return 503
        return None
    env.tandem.fail_when(predicate)


def test_tandem_down_for_the_whole_window_exits_4_naming_it(make_env):
    env = make_env(dt.date(2021, 10, 20), dt.date(2021, 10, 20))
    _fail_basal_reads(env)
    result = env.run("--start-date", "2021-10-20", "--end-date", "2021-10-20")
    assert result.returncode == 4, result.output
    last = result.stderr.strip().splitlines()[-1]
    assert last.startswith("tconnectsync: nothing could be synced: t:connect (tdcservices) kept failing")
    assert "2021-10-20" in last and "Traceback" not in result.output
    assert "FAILED 2021-10-20..2021-10-20" in result.stdout


def test_some_days_failed_exits_1_with_the_dates(make_env):
    env = make_env(dt.date(2021, 10, 20), dt.date(2021, 10, 21))
    _fail_basal_reads(env, only_start=dt.date(2021, 10, 20))
    result = env.run("--start-date", "2021-10-20", "--end-date", "2021-10-21", extra={"TCONNECTSYNC_CHUNK_DAYS": "1"})
    assert result.returncode == 1, result.output
    last = result.stderr.strip().splitlines()[-1]
    assert "some days could not be synced (2021-10-20)" in last
    assert "FAILED 2021-10-20..2021-10-20" in result.stdout
    assert "re-run: tconnectsync --start-date 2021-10-20 --end-date 2021-10-20" in result.stdout
    assert env.ns.treatments()          # the other day was written


def test_nightscout_down_for_the_whole_window_exits_4(make_env):
    env = make_env(dt.date(2021, 10, 20), dt.date(2021, 10, 20))
    env.ns.down = True
    result = env.run("--start-date", "2021-10-20", "--end-date", "2021-10-20", "--features", "BOLUS")
    assert result.returncode == 4, result.output
    assert "Nightscout kept failing" in result.stderr.strip().splitlines()[-1]


def test_http_to_a_public_host_is_refused(make_env):
    env = make_env(dt.date(2021, 10, 20), dt.date(2021, 10, 20))
    result = env.run("--pretend", extra={"NS_URL": "http://nightscout.example.com/"})
    assert result.returncode == 2
    assert "NS_URL uses http://" in result.stderr and len(result.stderr.strip().splitlines()) == 1


def test_check_login_lists_the_settings_files_read(make_env):
    env = make_env(dt.date(2021, 10, 20), dt.date(2021, 10, 21))
    user_file = env.tmp_path / "home" / ".config" / "tconnectsync" / ".env"
    user_file.parent.mkdir(parents=True)
    user_file.write_text("NS_BATCH_SIZE=500\n")
    (env.tmp_path / ".env").write_text("DEBUG=1\n")
    result = env.run("--check-login", "--start-date", "2021-10-20", "--end-date", "2021-10-21")
    assert result.returncode == 0, result.output
    line = [l for l in result.stdout.splitlines() if "settings files read" in l]
    assert line and str(env.tmp_path / ".env") in line[0] and str(user_file) in line[0]
