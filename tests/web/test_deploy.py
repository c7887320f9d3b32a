"""The deploy files (app.json, Procfile, the one package manager) and what a restarted app knows."""
import datetime as dt
import hashlib
import json
import os
import re
import sys

import pytest

from tconnectsync.nightscout import ENTERED_BY

from .conftest import APP_SECRET, REPO

if sys.version_info >= (3, 11):
    import tomllib
else:                                   # pytest depends on tomli below Python 3.11
    import tomli as tomllib

WEB_SETTINGS = ("TCONNECTSYNC_HEROKU_SECRET", "TCONNECTSYNC_HEROKU_INTERVAL_MINS", "TCONNECTSYNC_HEROKU_FEATURES",
                "TCONNECTSYNC_HEALTH_MAX_AGE_MINS", "TCONNECTSYNC_STATE_DIR", "TCONNECTSYNC_VERBOSE")
REQUIRED = ("TCONNECT_EMAIL", "TCONNECT_PASSWORD", "NS_URL", "NS_SECRET", "TIMEZONE_NAME")
OPTIONAL = ("PUMP_SERIAL_NUMBER", "TCONNECT_API", "TCONNECT_REGION")
BEARER = {"Authorization": "Bearer " + APP_SECRET}
UTC = dt.timezone.utc


def read(name):
    with open(os.path.join(REPO, name), encoding="utf-8") as fh:
        return fh.read()


def test_app_json_lists_every_setting_with_a_description():
    manifest = json.loads(read("app.json"))
    env = manifest["env"]
    for name in WEB_SETTINGS + REQUIRED + OPTIONAL:
        assert name in env, name
        assert len(env[name]["description"]) > 20, name
    for name in REQUIRED:
        assert env[name]["required"] is True
    for name in OPTIONAL:
        assert env[name]["required"] is False
    assert env["TCONNECTSYNC_HEROKU_SECRET"]["generator"] == "secret"
    assert manifest["success_url"] == "/"
    # every setting the web app reads is in the manifest
    source = "".join(read("tconnectsync/web/%s.py" % name) for name in ("settings", "app", "health"))
    read_names = set(re.findall(r'"(TCONNECTSYNC_[A-Z_]+)"', source))
    assert read_names <= set(env), read_names - set(env)


def test_procfile_serves_the_factory_on_port_with_threads():
    line = read("Procfile").strip()
    assert line.startswith("web: gunicorn 'tconnectsync.web:create_app()'")
    assert "$PORT" in line and "--worker-class gthread" in line and "--timeout" in line
    assert "--preload" not in line


def pipfile_hash(pipfile):
    """Pipenv's hash of a Pipfile, as it writes it into Pipfile.lock's _meta (pipenv's own
    rule: the parsed sections as canonical JSON, SHA-256)."""
    data = {"_meta": {"sources": pipfile["source"], "requires": pipfile.get("requires", {})},
            "default": pipfile.get("packages", {}), "develop": pipfile.get("dev-packages", {})}
    for section, values in pipfile.items():
        if section not in ("source", "packages", "dev-packages", "requires", "scripts", "pipenv", "pipfile"):
            data[section] = values
    return hashlib.sha256(json.dumps(data, sort_keys=True, separators=(",", ":")).encode("utf-8")).hexdigest()


def test_one_package_manager_for_heroku_and_a_lock_that_matches_the_pipfile():
    # Heroku's Python build refuses a repository holding requirements.txt beside Pipfile.lock.
    assert not os.path.exists(os.path.join(REPO, "requirements.txt"))
    with open(os.path.join(REPO, "Pipfile"), "rb") as fh:
        pipfile = tomllib.load(fh)
    lock = json.loads(read("Pipfile.lock"))
    assert lock["_meta"]["hash"]["sha256"] == pipfile_hash(pipfile), \
        "Pipfile.lock is stale: run `pipenv lock` and commit Pipfile.lock"
    # Heroku reads the Python version from the lock and accepts only 3.N or 3.N.N.
    version = lock["_meta"]["requires"].get("python_full_version") or lock["_meta"]["requires"]["python_version"]
    assert re.fullmatch(r"3\.\d+(\.\d+)?", version), version
    project = lock["default"]["tconnectsync"]
    assert project["path"] == "." and "web" in project["extras"]
    for name in ("flask", "gunicorn", "apscheduler", "requests", "pyjwt"):       # the web extra is locked
        assert lock["default"][name]["version"].startswith("==") and lock["default"][name]["hashes"], name


def test_the_pipfile_hash_rule_is_pipenvs():
    """pipfile_hash() must reproduce what pipenv wrote for a different Pipfile too, or the check
    above could pass by accident: a Pipfile with one more package hashes differently."""
    with open(os.path.join(REPO, "Pipfile"), "rb") as fh:
        pipfile = tomllib.load(fh)
    changed = json.loads(json.dumps(pipfile))
    changed["packages"]["pytz"] = "*"
    assert pipfile_hash(changed) != pipfile_hash(pipfile)


def newest_ours(ns):
    docs = [d for d in ns.treatments() if d.get("enteredBy") == ENTERED_BY and d.get("eventType") != "Announcement"]
    return max(dt.datetime.fromisoformat(d["created_at"].replace("Z", "+00:00")) for d in docs)


def test_a_restarted_app_takes_the_last_sync_from_nightscout(web_env, tmp_path):
    first = web_env.app().test_client()
    assert first.get("/update", query_string={"features": "BASAL,BOLUS"}, headers=BEARER).status_code == 200
    newest = newest_ours(web_env.ns)
    # A new Heroku dyno: an empty state folder, the same Nightscout.
    fresh = web_env.app(TCONNECTSYNC_STATE_DIR=str(tmp_path / "new-dyno"),
                        TCONNECTSYNC_HEALTH_MAX_AGE_MINS=str(7 * 24 * 60))
    client = fresh.test_client()
    before = web_env.ns.request_count
    health = client.get("/health")
    body = health.get_json()
    assert health.status_code == 200 and body["status"] == "ok", body
    assert body["last_success_from"] == "nightscout"
    assert dt.datetime.fromisoformat(body["last_success"]) == newest
    assert body["data_age_seconds"] >= 0
    page = client.get("/").get_data(as_text=True)
    assert "No sync yet" not in page and "newest tconnectsync data in Nightscout" in page
    local = newest.astimezone(__import__("pytz").timezone("America/New_York")).strftime("%Y-%m-%d %H:%M")
    assert local in page
    # Nightscout was asked once; the page and the next /health used the cached answer.
    assert web_env.ns.request_count - before == 1
    again = client.get("/health").get_json()
    # The same cached answer; only the data's age may have grown by the second that passed.
    assert {k: v for k, v in again.items() if k != "data_age_seconds"} == \
        {k: v for k, v in body.items() if k != "data_age_seconds"}
    assert body["data_age_seconds"] <= again["data_age_seconds"] <= body["data_age_seconds"] + 60
    assert web_env.ns.request_count - before == 1
    # Once this server has synced, its own record wins and Nightscout is not asked.
    assert client.get("/update", query_string={"features": "BOLUS"}, headers=BEARER).status_code == 200
    own = client.get("/health").get_json()
    assert "last_success_from" not in own and dt.datetime.fromisoformat(own["last_success"]) > newest


def test_a_restarted_app_with_nightscout_failing_says_never_after_one_request(web_env, tmp_path):
    client = web_env.app(TCONNECTSYNC_STATE_DIR=str(tmp_path / "new-dyno")).test_client()
    web_env.ns.fail_next(5, status=503)
    before = web_env.ns.request_count
    health = client.get("/health")
    assert health.status_code == 503
    assert health.get_json() == {"status": "never", "last_success": None, "data_age_seconds": None,
                                 "data_stale": False}
    assert web_env.ns.request_count - before == 1          # no retries: the page never waits long
    assert "No sync yet" in client.get("/").get_data(as_text=True)
    assert web_env.ns.request_count - before == 1          # the failure is cached for a minute


def test_an_empty_nightscout_is_never(web_env, tmp_path):
    client = web_env.app(TCONNECTSYNC_STATE_DIR=str(tmp_path / "new-dyno")).test_client()
    assert client.get("/health").get_json()["status"] == "never"


@pytest.mark.parametrize("flavor", ["0.12.8", "15.0.7"])
def test_newest_treatment_skips_announcements_others_and_the_future(flavor):
    from tconnectsync.nightscout import NightscoutClient
    from tconnectsync.sandbox.nightscout import FakeNightscout
    now = dt.datetime.now(UTC).replace(microsecond=0)

    def doc(minutes, **extra):
        d = {"eventType": "Note", "enteredBy": ENTERED_BY, "notes": "x",
             "created_at": (now + dt.timedelta(minutes=minutes)).isoformat().replace("+00:00", "Z")}
        d.update(extra)
        return d

    with FakeNightscout(api_secret="newest-secret-123", flavor=flavor) as ns:
        client = NightscoutClient(ns.url, "newest-secret-123")
        assert client.newest_treatment(before=now) is None
        client.upload_treatments([doc(-10 * 24 * 60), doc(-90), doc(-30, eventType="Announcement"),
                                  doc(-5, enteredBy="xDrip"), doc(+120)])
        found = client.newest_treatment(before=now)
        assert found["created_at"].startswith((now - dt.timedelta(minutes=90)).strftime("%Y-%m-%dT%H:%M"))


def test_the_lock_holds_every_runtime_and_web_dependency_of_setup_py():
    """Pipfile.lock pins the project's dependencies, which come from setup.py: a dependency added
    there needs `pipenv lock` too (the Pipfile's hash does not change), or Heroku and the Docker
    image would lack it."""
    from importlib.metadata import requires
    lock = json.loads(read("Pipfile.lock"))
    locked = {re.sub(r"[-_.]+", "-", name).lower() for name in lock["default"]}
    for requirement in requires("tconnectsync"):
        name, _, marker = requirement.partition(";")
        if "extra" in marker and "web" not in marker:
            continue
        name = re.sub(r"[-_.]+", "-", re.split(r"[\s\[<>=!~]", name.strip())[0]).lower()
        assert name in locked, "%s is in setup.py but not in Pipfile.lock: run `pipenv lock`" % name
