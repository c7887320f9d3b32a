"""/health, the badge, the container check and --check-login follow the last run (issue 11)."""
import datetime as dt
import io
import os
import subprocess
import sys

from tconnectsync import status
from tconnectsync.web import health as health_module

from .conftest import APP_SECRET, REPO

BEARER = {"Authorization": "Bearer " + APP_SECRET}


def text(response):
    return response.get_data(as_text=True)


def badge(page):
    """The text of the first badge on the page (the health card's)."""
    start = page.index('class="badge')
    return page[page.index(">", start) + 1:page.index("</span>", start)]


def test_a_failed_run_turns_health_red_with_the_reason_and_a_good_run_turns_it_green(web_env):
    good = web_env.app().test_client()
    assert good.get("/update", query_string={"features": "BOLUS"}, headers=BEARER).status_code == 200
    assert good.get("/health").status_code == 200
    bad = web_env.app(NS_SECRET="not-the-nightscout-secret").test_client()
    assert bad.get("/update", query_string={"features": "BOLUS"}, headers=BEARER).status_code == 500
    answer = bad.get("/health")
    assert answer.status_code == 503
    data = answer.get_json()
    assert data["status"] == "failing" and data["problem"] == "Nightscout refused the secret"
    assert data["reason"] and "not-the-nightscout-secret" not in text(answer)
    page = text(bad.get("/"))
    assert badge(page) == "Nightscout refused the secret" and "Healthy" not in page
    # The container's health check says the same.
    out = io.StringIO()
    assert health_module.main(environ=web_env.environ, out=out) == 1
    assert "Nightscout refused the secret" in out.getvalue()
    assert good.get("/update", query_string={"features": "BOLUS"}, headers=BEARER).status_code == 200
    again = good.get("/health")
    assert again.status_code == 200 and again.get_json()["status"] == "ok" and "problem" not in again.get_json()
    assert badge(text(good.get("/"))) == "Healthy"


def test_a_refused_tandem_login_is_named(web_env):
    client = web_env.app(TCONNECT_PASSWORD="wrong-password-here").test_client()
    assert client.get("/update", headers=BEARER).status_code == 500
    answer = client.get("/health")
    assert answer.status_code == 503 and answer.get_json()["problem"] == "Tandem login refused"
    assert badge(text(client.get("/"))) == "Tandem login refused"


def test_old_pump_data_is_a_warning_of_its_own(web_env):
    client = web_env.app().test_client()           # the default threshold: 2 hours
    assert client.get("/update", query_string={"features": "BOLUS"}, headers=BEARER).status_code == 200
    path = web_env.state_dir / "status.json"
    saved = status.read(path)
    saved["last_data"] = (dt.datetime.now(dt.timezone.utc) - dt.timedelta(minutes=100)).isoformat()
    status.write(path, saved)
    fresh = client.get("/health").get_json()
    assert fresh["data_stale"] is False and "warning" not in fresh
    saved["last_data"] = (dt.datetime.now(dt.timezone.utc) - dt.timedelta(hours=3)).isoformat()
    status.write(path, saved)
    answer = client.get("/health")
    assert answer.status_code == 200
    data = answer.get_json()
    assert data["status"] == "ok" and data["data_stale"] is True and "3 h" in data["warning"]
    page = text(client.get("/"))
    assert badge(page) == "Healthy" and "Old pump data" in page


def test_pump_serials_are_shown_only_with_the_secret(web_env):
    client = web_env.app(PUMP_SERIAL_NUMBER="12345678").test_client()
    assert client.get("/update", headers=BEARER).status_code == 500
    real = web_env.scenario.serial
    public = text(client.get("/"))
    assert "PUMP_SERIAL_NUMBER" in public
    assert real not in public and "12345678" not in public
    assert real not in text(client.get("/health"))
    private = text(client.get("/", headers=BEARER))
    assert real in private


def test_check_login_tells_the_last_run_in_the_same_words(web_env, tmp_path):
    client = web_env.app(NS_SECRET="not-the-nightscout-secret").test_client()
    assert client.get("/update", query_string={"features": "BOLUS"}, headers=BEARER).status_code == 500
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TCONNECT", "NS_", "PUMP_", "TIMEZONE"))}
    env.update(web_env.environ)
    env.update(HOME=str(tmp_path / "home"), PYTHONPATH=REPO)
    proc = subprocess.run([sys.executable, "-m", "tconnectsync", "--check-login"], cwd=str(tmp_path), env=env,
                          capture_output=True, text=True, timeout=120)
    assert "last run failed: Nightscout refused the secret" in proc.stdout, proc.stdout + proc.stderr


def test_a_web_run_takes_turns_with_a_cron_run_for_the_same_account(web_env):
    # A cron run holding the run lock: the web app's run waits for it (TCONNECTSYNC_LOCK_WAIT), then
    # reports that it did not sync, by name; once the lock is free the same app syncs.
    from tconnectsync.config import load_config
    from tconnectsync.runlock import run_lock
    client = web_env.app(TCONNECTSYNC_LOCK_WAIT="1").test_client()
    with run_lock(load_config(web_env.environ)):
        answer = client.get("/update", query_string={"features": "BOLUS"}, headers=BEARER)
    assert answer.status_code == 500
    assert "another tconnectsync run" in text(answer)
    assert not [d for d in web_env.ns.treatments() if d.get("eventType") == "Combo Bolus"]
    assert client.get("/health").status_code == 503
    assert client.get("/update", query_string={"features": "BOLUS"}, headers=BEARER).status_code == 200
    assert [d for d in web_env.ns.treatments() if d.get("eventType") == "Combo Bolus"]
