"""`tconnectsync web`: the app served locally, on LISTEN_HOST:LISTEN_PORT or the flags."""
import subprocess

import requests

from .conftest import APP_SECRET, PYTHON, start_process, subprocess_env


def test_tconnectsync_web_serves_the_app_and_logs_no_secret(web_env, tmp_path):
    env = subprocess_env(dict(web_env.environ, LISTEN_PORT="0"), tmp_path / "home")
    proc, line, _ = start_process([PYTHON, "-m", "tconnectsync", "web"], env, tmp_path, ready=b"serving on")
    try:
        base = line.split("serving on ", 1)[1].split()[0].rstrip("/")
        assert base.startswith("http://127.0.0.1:")
        assert requests.get(base + "/health", timeout=10).json()["status"] == "never"
        ran = requests.get(base + "/update", params={"secret": APP_SECRET, "features": "BOLUS"}, timeout=60)
        assert ran.status_code == 200, ran.text
        assert requests.get(base + "/health", timeout=10).status_code == 200
    finally:
        proc.terminate()
        output = proc.communicate(timeout=15)[0].decode(errors="replace")
    assert "GET /update 200" in output
    assert APP_SECRET not in output


def test_tconnectsync_web_refuses_a_bad_setting(web_env, tmp_path):
    env = subprocess_env(dict(web_env.environ, TCONNECTSYNC_HEROKU_FEATURES="BASAL,BOGUS"), tmp_path / "home")
    proc = subprocess.run([PYTHON, "-m", "tconnectsync", "web", "--port", "0"], env=env, cwd=str(tmp_path),
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 2
    assert "TCONNECTSYNC_HEROKU_FEATURES names an unknown feature 'BOGUS'" in proc.stderr
    assert "Traceback" not in proc.stderr
    bad_port = subprocess.run([PYTHON, "-m", "tconnectsync", "web"], env=dict(env, LISTEN_PORT="http"),
                              cwd=str(tmp_path), capture_output=True, text=True, timeout=60)
    assert bad_port.returncode == 2 and "LISTEN_PORT" in bad_port.stderr
