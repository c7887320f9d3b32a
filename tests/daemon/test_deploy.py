"""The README's ways of running the daemon (supervisord, systemd, cron), each run for real
against the sandbox servers, with the README's own text (paths and user substituted)."""
import configparser
import contextlib
import datetime as dt
import os
import pwd
import re
import shlex
import shutil
import signal
import stat
import subprocess
import sys
import sysconfig
import tempfile
import time
import warnings

import pytest

from tconnectsync.sandbox.nightscout import FakeNightscout
from tconnectsync.sandbox.scenario import make_scenario
from tconnectsync.sandbox.tconnect import TandemLegacySandbox

from ..deploy.readme import REPO, readme_block

BIN = os.path.dirname(sys.executable)
SECRET = "deploy-nightscout-secret"
PASSWORD = "pw #1 $x"
TEST_USER = "tconnectsync-ci"        # an unprivileged user the tests create when run as root
README_FOLDER = "/home/me/tconnectsync"
README_HOME = "/home/me"


@contextlib.contextmanager
def sandbox_site(home, status_file=True):
    """Sandbox Tandem and Nightscout, and ``home/tconnectsync`` as the README lays it out: a .env
    for them, run.sh, and .venv/bin/tconnectsync (a link to this test run's)."""
    now = dt.datetime.now(dt.timezone.utc)
    today = dt.date.today()
    scenario = make_scenario(today - dt.timedelta(days=3), today + dt.timedelta(days=1), cutoff=now)
    with TandemLegacySandbox(scenario, email="d@example.com", password=PASSWORD) as tandem, \
            FakeNightscout(api_secret=SECRET, flavor="15.0.7") as ns:
        folder = home / "tconnectsync"
        (folder / ".venv" / "bin").mkdir(parents=True)
        os.symlink(os.path.join(BIN, "tconnectsync"), folder / ".venv" / "bin" / "tconnectsync")
        lines = ["TCONNECT_API=legacy", "TCONNECT_EMAIL=d@example.com", "TCONNECT_PASSWORD='%s'" % PASSWORD,
                 "PUMP_SERIAL_NUMBER=%s" % scenario.serial, "NS_URL=%s" % ns.url, "NS_SECRET=%s" % SECRET,
                 "TIMEZONE_NAME=America/New_York", "TCONNECT_WEB_URL=%s" % tandem.web_url,
                 "TCONNECT_WS2_URL=%s" % tandem.ws2_url, "TCONNECT_SERVICES_URL=%s" % tandem.services_url,
                 "AUTOUPDATE_INTERVAL=2"]
        if status_file:
            lines.append("TCONNECTSYNC_STATUS_FILE=%s" % (folder / "status.json"))
        (folder / ".env").write_text("\n".join(lines) + "\n")
        (folder / ".env").chmod(0o600)
        shutil.copy(os.path.join(REPO, "run.sh"), folder / "run.sh")
        yield folder, ns


@pytest.fixture
def site(tmp_path):
    with sandbox_site(tmp_path) as (folder, ns):
        env = {"PATH": "/usr/bin:/bin", "HOME": str(tmp_path)}
        yield folder, ns, env


def wait_for(predicate, seconds=60):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.25)
    return False


def unprivileged_user():
    """(name, reason): a real unprivileged user for ``user=`` / ``User=``, created when we are root
    and it is missing; name None (and why) when there is none."""
    if os.getuid() != 0:
        return pwd.getpwuid(os.getuid()).pw_name, None
    try:
        return pwd.getpwnam(TEST_USER).pw_name, None
    except KeyError:
        pass
    useradd = shutil.which("useradd") or "/usr/sbin/useradd"
    try:
        subprocess.run([useradd, "--system", "--user-group", "--no-create-home", "--home-dir", "/nonexistent",
                        "--shell", "/usr/sbin/nologin", TEST_USER], check=True, capture_output=True, timeout=30)
        return pwd.getpwnam(TEST_USER).pw_name, None
    except (OSError, subprocess.SubprocessError, KeyError) as exc:
        return None, "could not create the user %s (%s)" % (TEST_USER, exc)


def as_user(user, argv, **kwargs):
    if os.getuid() != 0:
        return subprocess.run(argv, capture_output=True, text=True, timeout=60, **kwargs)
    return subprocess.run(["runuser", "-u", user, "--"] + argv, capture_output=True, text=True, timeout=60, **kwargs)


def make_runnable_for(user, folder):
    """Make ``folder/.venv/bin/tconnectsync`` something ``user`` can run; None when done, else why not.

    This run's tconnectsync may sit behind a folder other users can't enter (a Python under
    /root/.pyenv). Then a launcher is written instead: a Python of the same version that the user
    can run (the system's), with this run's site-packages (which hold the editable install)."""
    launcher = folder / ".venv" / "bin" / "tconnectsync"
    if as_user(user, [str(launcher), "--version"]).returncode == 0:
        return None
    version = "python%d.%d" % sys.version_info[:2]
    site_dir = sysconfig.get_paths()["purelib"]
    for python in ("/usr/bin/" + version, "/usr/local/bin/" + version):
        if not os.path.exists(python) or as_user(user, [python, "-c", "import sys; sys.path.insert(0, %r); "
                                                                  "import site" % site_dir]).returncode:
            continue
        launcher.unlink()
        launcher.write_text("#!%s\nimport site, sys\nsite.addsitedir(%r)\nfrom tconnectsync.cli import main\n"
                            "sys.exit(main())\n" % (python, site_dir))
        launcher.chmod(0o755)
        check = as_user(user, [str(launcher), "--version"])
        if check.returncode == 0:
            return None
        return "%s can't run tconnectsync through %s: %s" % (user, python, check.stderr.strip()[-300:])
    return "%s can't run %s and there is no %s it can run" % (user, os.path.join(BIN, "tconnectsync"), version)


def test_run_sh_finds_the_venv_next_to_it_and_says_so_when_there_is_none(tmp_path):
    folder = tmp_path / "app"
    (folder / ".venv" / "bin").mkdir(parents=True)
    shutil.copy(os.path.join(REPO, "run.sh"), folder / "run.sh")
    fake = folder / ".venv" / "bin" / "tconnectsync"
    fake.write_text("#!/bin/sh\necho \"venv tconnectsync in $(pwd) with $*\"\n")
    fake.chmod(0o755)
    bare = {"PATH": "/usr/bin:/bin"}
    ran = subprocess.run(["/bin/sh", str(folder / "run.sh"), "-v"], env=bare, cwd="/", capture_output=True,
                         text=True, timeout=30)
    assert ran.returncode == 0 and ran.stdout.strip() == "venv tconnectsync in %s with --auto-update -v" % folder
    fake.unlink()
    missing = subprocess.run(["/bin/sh", str(folder / "run.sh")], env=bare, capture_output=True, text=True, timeout=30)
    assert missing.returncode == 127 and "tconnectsync not found" in missing.stderr and "python3 -m venv" in missing.stderr


def test_system_supervisord_runs_the_readme_program_as_its_user():
    """A supervisord like Debian's: run as root from its own conf, the README's program with
    ``user=`` a real unprivileged user and ``environment=HOME``; run.sh finds the venv by itself."""
    supervisord = os.path.join(BIN, "supervisord")
    if not os.path.exists(supervisord):
        pytest.skip("supervisor is not installed (pip install -e '.[test]' installs it)")
    program = readme_block("supervisord-program")
    assert re.search(r"^user=me$", program, re.M) and 'environment=HOME="/home/me"' in program
    user, why = unprivileged_user()
    home = tempfile.mkdtemp(prefix="tconnectsync-deploy-")      # not under /tmp/pytest-of-root (0700)
    try:
        home_path = __import__("pathlib").Path(home)
        os.chmod(home, 0o755)
        with sandbox_site(home_path, status_file=False) as (folder, ns):
            if user is not None and os.getuid() == 0:
                for path in [home_path] + [p for p in home_path.rglob("*") if not p.is_symlink()]:
                    shutil.chown(path, user, user)
                why = make_runnable_for(user, folder)
            if why:
                warnings.warn("supervisord test runs the program without user=: %s" % why)
                user = pwd.getpwuid(os.getuid()).pw_name
            program = program.replace(README_FOLDER, str(folder)).replace(README_HOME, home)
            program = re.sub(r"^user=me$", "user=%s" % user, program, flags=re.M)
            conf = home_path / "supervisord.conf"
            sock = home_path / "supervisor.sock"
            conf.write_text("\n".join([
                "[supervisord]", "logfile=%s" % (home_path / "supervisord.log"),
                "pidfile=%s" % (home_path / "supervisord.pid"), "childlogdir=%s" % home, "",
                "[unix_http_server]", "file=%s" % sock, "chmod=0700", "",
                "[rpcinterface:supervisor]",
                "supervisor.rpcinterface_factory = supervisor.rpcinterface:make_main_rpcinterface", "",
                "[supervisorctl]", "serverurl=unix://%s" % sock, "", program]))
            env = {"PATH": "/usr/bin:/bin", "HOME": "/root" if os.getuid() == 0 else home}
            ctl = [os.path.join(BIN, "supervisorctl"), "-c", str(conf)]
            subprocess.run([supervisord, "-c", str(conf)], env=env, check=True, timeout=30)
            try:
                log = folder / "tconnectsync.log"
                assert wait_for(lambda: len(ns.treatments()) > 100), log.read_text() if log.exists() else "no log"
                assert wait_for(lambda: "RUNNING" in subprocess.run(
                    ctl + ["status", "tconnectsync"], capture_output=True, text=True, env=env).stdout, 20)
                # HOME from environment=: the status file is in the user's ~/.local/state, and theirs.
                status_file = home_path / ".local" / "state" / "tconnectsync" / "status.json"
                assert wait_for(status_file.exists, 20), log.read_text()
                info = status_file.stat()
                assert pwd.getpwuid(info.st_uid).pw_name == user and stat.S_IMODE(info.st_mode) == 0o600
                t0 = time.monotonic()
                stop = subprocess.run(ctl + ["stop", "tconnectsync"], capture_output=True, text=True, env=env,
                                      timeout=30)
                assert "stopped" in stop.stdout and time.monotonic() - t0 < 10
                assert wait_for(lambda: "exit status 0" in (home_path / "supervisord.log").read_text(), 10), \
                    (home_path / "supervisord.log").read_text()
                text = log.read_text()
                assert "Received SIGTERM" in text and "Auto-update stopped" in text and "pw #1" not in text
            finally:
                subprocess.run(ctl + ["shutdown"], capture_output=True, env=env, timeout=30)
    finally:
        shutil.rmtree(home, ignore_errors=True)


def readme_unit(folder, user):
    text = readme_block("systemd-unit")
    return text.replace(README_FOLDER, str(folder)).replace("User=me", "User=%s" % user)


def test_systemd_unit_passes_systemd_analyze_verify(site):
    analyze = shutil.which("systemd-analyze") or ("/usr/bin/systemd-analyze"
                                                   if os.path.exists("/usr/bin/systemd-analyze") else None)
    if analyze is None:
        pytest.skip("systemd-analyze is not installed (apt-get install systemd): the unit is not verified")
    folder, ns, env = site
    user, why = unprivileged_user()
    if user is None:
        pytest.skip("no unprivileged user for User=: %s" % why)
    unit = folder / "tconnectsync.service"
    unit.write_text(readme_unit(folder, user))
    result = subprocess.run([analyze, "verify", str(unit)], capture_output=True, text=True, timeout=60,
                            env={"PATH": "/usr/bin:/bin", "SYSTEMD_LOG_COLOR": "0"})
    about_unit = [line for line in (result.stdout + result.stderr).splitlines()
                  if str(unit) in line or "tconnectsync" in line]
    assert not about_unit, "\n".join(about_unit)
    assert result.returncode == 0, result.stderr
    # The check can fail: the start limit in [Service], where systemd ignores it, is reported.
    wrong = readme_unit(folder, user).replace("StartLimitIntervalSec=3600\n", "").replace(
        "Restart=on-failure", "Restart=on-failure\nStartLimitIntervalSec=3600")
    unit.write_text(wrong)
    result = subprocess.run([analyze, "verify", str(unit)], capture_output=True, text=True, timeout=60,
                            env={"PATH": "/usr/bin:/bin", "SYSTEMD_LOG_COLOR": "0"})
    assert "StartLimitIntervalSec" in result.stderr


def test_systemd_unit_command_runs_and_stops_on_its_kill_signal(site):
    folder, ns, env = site
    unit = configparser.ConfigParser(strict=False, interpolation=None)
    unit.read_string(readme_block("systemd-unit"))
    assert unit["Unit"]["StartLimitIntervalSec"] and int(unit["Unit"]["StartLimitBurst"]) >= 1
    service = unit["Service"]
    assert "StartLimitBurst" not in service and "StartLimitIntervalSec" not in service
    argv = shlex.split(service["ExecStart"].replace(README_FOLDER, str(folder)))
    assert os.path.isabs(argv[0]) and os.path.basename(argv[0]) == "tconnectsync" and "--auto-update" in argv
    assert service["Restart"] == "on-failure" and int(service["RestartSec"]) >= 30
    cwd = service["WorkingDirectory"].replace(README_FOLDER, str(folder))
    # systemd's environment for User=: HOME, USER, a minimal PATH; the settings come from .env in cwd.
    proc = subprocess.Popen(argv, cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        assert wait_for(lambda: len(ns.treatments()) > 100)
        proc.send_signal(getattr(signal, service["KillSignal"]))
        out, _ = proc.communicate(timeout=int(service["TimeoutStopSec"]))
        assert proc.returncode == 0, out
        assert "pw #1" not in out
    finally:
        if proc.poll() is None:
            proc.kill()


def test_cron_line_runs_under_crons_bare_environment(site):
    folder, ns, env = site
    line = readme_block("cron-line").strip()
    assert "\n" not in line and "%" not in line               # cron turns % into a new line
    fields = line.split(None, 5)
    assert len(fields) == 6 and all(re.fullmatch(r"[0-9*/,-]+", f) for f in fields[:5]), fields
    command = fields[5].replace(README_FOLDER, str(folder))
    log = folder / "tconnectsync.log"
    run = ["env", "-i", "/bin/sh", "-c", command]             # no PATH, no HOME: harsher than cron
    first = subprocess.run(run, timeout=120, cwd="/")
    assert first.returncode == 0, log.read_text()
    written = len(ns.treatments())
    assert written > 100
    first_count = log.read_text().count("Synced")
    assert first_count >= 1
    second = subprocess.run(run, timeout=120, cwd="/")
    assert second.returncode == 0, log.read_text()
    text = log.read_text()
    assert text.count("Synced") == 2 * first_count                  # appended, not overwritten
    assert len(ns.treatments()) == written                   # the second run found everything there
    assert "pw #1" not in text
