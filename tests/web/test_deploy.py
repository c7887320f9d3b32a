"""The deploy files: app.json lists every setting, the Procfile serves the app factory."""
import json
import os
import re

from .conftest import REPO

WEB_SETTINGS = ("TCONNECTSYNC_HEROKU_SECRET", "TCONNECTSYNC_HEROKU_INTERVAL_MINS", "TCONNECTSYNC_HEROKU_FEATURES",
                "TCONNECTSYNC_HEALTH_MAX_AGE_MINS", "TCONNECTSYNC_STATE_DIR", "TCONNECTSYNC_VERBOSE")
REQUIRED = ("TCONNECT_EMAIL", "TCONNECT_PASSWORD", "NS_URL", "NS_SECRET", "TIMEZONE_NAME")
OPTIONAL = ("PUMP_SERIAL_NUMBER", "TCONNECT_API", "TCONNECT_REGION")


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
    source = read("tconnectsync/web/settings.py") + read("tconnectsync/web/app.py")
    read_names = set(re.findall(r'"(TCONNECTSYNC_[A-Z_]+)"', source))
    assert read_names <= set(env), read_names - set(env)


def test_procfile_serves_the_factory_on_port_with_threads():
    line = read("Procfile").strip()
    assert line.startswith("web: gunicorn 'tconnectsync.web:create_app()'")
    assert "$PORT" in line and "--worker-class gthread" in line and "--timeout" in line
    assert "--preload" not in line
    assert ".[web]" in read("requirements.txt")
