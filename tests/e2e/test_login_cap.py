"""Never lock the Tandem account (issue 11): the login cap and the last refusal are shared by every
process through the state folder; a changed password means a new login. Real CLI subprocesses
against the simulated Tandem Source cloud on 127.0.0.1."""
import datetime as dt
import json
import stat

from tconnectsync.api.tandemsource.auth import LOGIN_PATH

from .test_source import PASSWORD, source_env  # noqa: F401 - the fixture

DAY = dt.date(2025, 3, 1)
ONE_DAY = ("--start-date", str(DAY), "--end-date", str(DAY), "--features", "BOLUS")


def state(env):
    return {"TCONNECTSYNC_STATE_DIR": str(env.tmp_path / "state")}


def login_posts(env):
    return [r for r in env.tandem.request_log if r.method == "POST" and r.path.endswith(LOGIN_PATH)]


def test_ten_cron_runs_with_a_wrong_password_send_one_login(source_env):  # noqa: F811
    env = source_env(DAY, DAY)
    wrong = dict(state(env), TCONNECT_PASSWORD="not the password")
    results = [env.run(*ONE_DAY, extra=wrong) for _ in range(10)]
    assert [r.returncode for r in results] == [3] * 10
    assert env.tandem.login_attempts == 1 and len(login_posts(env)) == 1      # 1 login an hour from cron
    assert not env.tandem.locked_out
    later = results[-1].stderr.splitlines()[-1]
    assert "refused the e-mail address or password at " in later and "(local time)" in later
    assert "no new login until TCONNECT_PASSWORD changes or until " in later
    assert "not the password" not in "".join(r.output for r in results)
    (history,) = (env.tmp_path / "state").glob("logins-*.json")
    assert stat.S_IMODE(history.stat().st_mode) == 0o600
    text = history.read_text()
    assert "not the password" not in text and PASSWORD not in text and "@" not in history.name
    assert set(json.loads(text)["refusal"]) == {"at", "what", "kind", "salt", "fingerprint"}
    # the password setting changed (to the right one): one new attempt, at once
    fixed = env.run(*ONE_DAY, extra=state(env))
    assert fixed.returncode == 0, fixed.output
    assert env.tandem.login_attempts == 2


def test_runs_with_transient_login_failures_stay_within_six_an_hour(source_env):  # noqa: F811
    env = source_env(DAY, DAY)
    env.tandem.fail_when(lambda host, method, path, query: 503 if path.endswith(LOGIN_PATH) else None)
    results = [env.run(*ONE_DAY, extra=state(env)) for _ in range(7)]
    assert all(r.returncode == 4 for r in results), [r.output for r in results]
    assert len(login_posts(env)) == 6                       # retried (bounded), then the cap, for every process
    assert "trying again" in results[0].stderr              # a transient failure of the login is retried
    assert "login attempts in the last hour already" in results[-1].stderr


def test_one_transient_login_failure_is_retried_and_the_run_succeeds(source_env):  # noqa: F811
    env = source_env(DAY, DAY)
    env.tandem.fail_next("services", 1, status=503)          # the login POST is the first tdcservices request
    result = env.run(*ONE_DAY, extra=state(env))
    assert result.returncode == 0, result.output
    assert len(login_posts(env)) == 2 and env.tandem.logins == 1
    assert "day by day" not in result.output


def test_a_changed_password_means_a_new_login(source_env):  # noqa: F811
    env = source_env(DAY, DAY)
    assert env.run(*ONE_DAY, extra=state(env)).returncode == 0
    assert env.run(*ONE_DAY, extra=state(env)).returncode == 0
    assert env.tandem.logins == 1                            # the cached token served the second run
    env.tandem.password = "a new password"
    changed = env.run(*ONE_DAY, extra=dict(state(env), TCONNECT_PASSWORD="a new password"))
    assert changed.returncode == 0, changed.output
    assert env.tandem.logins == 2                            # not the token the old password got
    tokens = (env.tmp_path / "tokens.json").read_text()
    assert "a new password" not in tokens and PASSWORD not in tokens
