"""The README's ways of running the daemon, each run for real against the sandbox."""
import configparser
import datetime as dt
import os
import re
import shlex
import shutil
import signal
import subprocess
import sys
import time

import pytest

from tconnectsync.sandbox.nightscout import FakeNightscout
from tconnectsync.sandbox.scenario import make_scenario
from tconnectsync.sandbox.tconnect_server import TandemLegacySandbox

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BIN = os.path.dirname(sys.executable)
SECRET = "deploy-nightscout-secret"


def readme_block(marker):
    text = open(os.path.join(REPO, "README.md"), encoding="utf-8").read()
    m = re.search(r"<!-- %s -->\s*```[a-z]*\n(.*?)```" % re.escape(marker), text, re.S)
    assert m, "README has no block after <!-- %s -->" % marker
    return m.group(1)


@pytest.fixture
def site(tmp_path):
    now = dt.datetime.now(dt.timezone.utc)
    today = dt.date.today()
    scenario = make_scenario(today - dt.timedelta(days=3), today + dt.timedelta(days=1), cutoff=now)
    with TandemLegacySandbox(scenario, email="d@example.com", password="pw #1 $x") as tandem, \
            FakeNightscout(api_secret=SECRET, flavor="15.0.7") as ns:
        folder = tmp_path / "tconnectsync"
        folder.mkdir()
        (folder / ".env").write_text("\n".join([
            "TCONNECT_API=legacy", "TCONNECT_EMAIL=d@example.com", "TCONNECT_PASSWORD='pw #1 $x'",
            "PUMP_SERIAL_NUMBER=%s" % scenario.serial, "NS_URL=%s" % ns.url, "NS_SECRET=%s" % SECRET,
            "TIMEZONE_NAME=America/New_York", "TCONNECT_WEB_URL=%s" % tandem.web_url,
            "TCONNECT_WS2_URL=%s" % tandem.ws2_url, "TCONNECT_SERVICES_URL=%s" % tandem.services_url,
            "AUTOUPDATE_INTERVAL=2", "TCONNECTSYNC_STATUS_FILE=%s" % (folder / "status.json"), ""]))
        shutil.copy(os.path.join(REPO, "run.sh"), folder / "run.sh")
        env = {"PATH": BIN + os.pathsep + "/usr/bin:/bin", "HOME": str(tmp_path), "PYTHONPATH": REPO}
        yield folder, ns, env


def wait_for(predicate, seconds=60):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.25)
    return False


def test_supervisord_runs_the_readme_program(site):
    supervisord = os.path.join(BIN, "supervisord")
    if not os.path.exists(supervisord):
        pytest.skip("supervisor is not installed (pip install -e '.[test]' installs it)")
    folder, ns, env = site
    program = readme_block("supervisord-program").replace("/home/me/tconnectsync", str(folder))
    conf = folder / "supervisord.conf"
    sock = folder / "supervisor.sock"
    conf.write_text("\n".join([
        "[supervisord]", "logfile=%s" % (folder / "supervisord.log"), "pidfile=%s" % (folder / "supervisord.pid"),
        "childlogdir=%s" % folder, "",
        "[unix_http_server]", "file=%s" % sock, "",
        "[rpcinterface:supervisor]", "supervisor.rpcinterface_factory = supervisor.rpcinterface:make_main_rpcinterface", "",
        "[supervisorctl]", "serverurl=unix://%s" % sock, "", program]))
    ctl = [os.path.join(BIN, "supervisorctl"), "-c", str(conf)]
    subprocess.run([supervisord, "-c", str(conf)], env=env, check=True, timeout=30)
    try:
        assert wait_for(lambda: len(ns.treatments()) > 100), (folder / "tconnectsync.log").read_text()
        assert wait_for(lambda: "RUNNING" in subprocess.run(ctl + ["status", "tconnectsync"], capture_output=True,
                                                            text=True, env=env).stdout, 20)
        t0 = time.monotonic()
        stop = subprocess.run(ctl + ["stop", "tconnectsync"], capture_output=True, text=True, env=env, timeout=30)
        assert "stopped" in stop.stdout and time.monotonic() - t0 < 10
        assert wait_for(lambda: "exit status 0" in (folder / "supervisord.log").read_text(), 10), \
            (folder / "supervisord.log").read_text()
        log = (folder / "tconnectsync.log").read_text()
        assert "Received SIGTERM" in log and "Auto-update stopped" in log and "pw #1" not in log
    finally:
        subprocess.run(ctl + ["shutdown"], capture_output=True, env=env, timeout=30)


def test_systemd_unit_command_runs_and_stops_on_its_kill_signal(site):
    folder, ns, env = site
    unit = configparser.ConfigParser(strict=False, interpolation=None)
    unit.read_string(readme_block("systemd-unit"))
    service = unit["Service"]
    argv = shlex.split(service["ExecStart"])
    assert os.path.basename(argv[0]) == "tconnectsync" and "--auto-update" in argv
    assert service["Restart"] == "on-failure" and int(service["RestartSec"]) >= 30
    # systemd's EnvironmentFile: KEY=value lines, quotes removed
    proc_env = dict(env)
    for line in (folder / ".env").read_text().splitlines():
        if "=" in line:
            key, value = line.split("=", 1)
            proc_env[key] = value.strip("'\"")
    proc = subprocess.Popen([os.path.join(BIN, "tconnectsync")] + argv[1:], cwd=str(folder), env=proc_env,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        assert wait_for(lambda: len(ns.treatments()) > 100)
        proc.send_signal(getattr(signal, service["KillSignal"]))
        out, _ = proc.communicate(timeout=int(service["TimeoutStopSec"]))
        assert proc.returncode == 0, out
    finally:
        if proc.poll() is None:
            proc.kill()


def test_cron_line_runs_one_sync(site):
    folder, ns, env = site
    line = readme_block("cron-line").strip()
    command = line.split(None, 5)[5].replace("/home/me/tconnectsync", str(folder))
    result = subprocess.run(["/bin/sh", "-c", command], env=env, timeout=120)
    assert result.returncode == 0, (folder / "tconnectsync.log").read_text()
    assert "Synced" in (folder / "tconnectsync.log").read_text()
    assert len(ns.treatments()) > 100


def test_docker_image_definition():
    docker = open(os.path.join(REPO, "Dockerfile")).read()
    assert re.search(r"^FROM python:3\.\d+-slim", docker, re.M)
    assert re.search(r"^USER (?!root)\S+", docker, re.M)
    assert 'ENTRYPOINT ["tconnectsync"]' in docker
    assert ".env" not in re.sub(r"#.*", "", docker)
    assert ".env" in open(os.path.join(REPO, ".dockerignore")).read().split()
    line = readme_block("docker-run")
    assert "--env-file" in line and line.strip().endswith("tconnectsync --auto-update")
