"""First contact: no silent demo and no silent success, through the real entry point.

Each case runs ``python -m tconnectsync`` in a subprocess, once with stdin and stdout on a
pseudo-terminal (a person typing) and once without (cron, supervisord, systemd, Docker).
"""
import os
import subprocess
import sys

import pytest

from ..ptyrun import run_on_pty

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
MODES = {
    "plain": [],
    "check-login": ["--check-login"],
    "auto-update": ["--auto-update"],
    "pretend": ["--pretend"],
    "days 3": ["--days", "3"],
}
ALL_REQUIRED = ("TCONNECT_EMAIL", "TCONNECT_PASSWORD", "NS_URL", "NS_SECRET", "TIMEZONE_NAME")


class Result:
    def __init__(self, code, stdout, stderr):
        self.returncode, self.stdout, self.stderr = code, stdout, stderr
        self.output = stdout + stderr


def run_cli(args, env, cwd, tty, timeout=120):
    cmd = [sys.executable, "-m", "tconnectsync", *args]
    if not tty:
        p = subprocess.run(cmd, stdin=subprocess.DEVNULL, capture_output=True, text=True, cwd=cwd, env=env,
                           timeout=timeout)
        return Result(p.returncode, p.stdout, p.stderr)
    code, out, stderr = run_on_pty(args, env, cwd, timeout=timeout)
    return Result(code, out.replace("\r\n", "\n"), stderr)


@pytest.fixture
def bare(tmp_path):
    """An environment with no tconnectsync settings anywhere: (env, cwd)."""
    home = tmp_path / "home"
    home.mkdir()
    work = tmp_path / "work"
    work.mkdir()
    return {"PATH": "/usr/bin:/bin", "HOME": str(home), "PYTHONPATH": REPO, "LANG": "C.UTF-8"}, work


def looked_in(env, cwd):
    return [os.path.join(str(cwd), ".env"), os.path.join(env["HOME"], ".config", "tconnectsync", ".env")]


@pytest.mark.parametrize("tty", [False, True], ids=["no-tty", "tty"])
@pytest.mark.parametrize("mode", list(MODES))
def test_no_settings_at_all(bare, mode, tty):
    env, cwd = bare
    result = run_cli(MODES[mode], env, str(cwd), tty)
    if mode == "plain" and tty:
        # The README's first command, typed by a person: the demo, said out loud.
        assert result.returncode == 0, result.output
        assert "No tconnectsync settings found" in result.stdout and "built-in demo" in result.stdout
        assert "Temp Basal" in result.stdout and "A second run of the same window wrote 0 documents" in result.stdout
        return
    assert result.returncode == 2, result.output
    assert "Demo:" not in result.output and "Synced" not in result.output and "Traceback" not in result.output
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    sentence = lines[0]
    assert sentence.startswith("tconnectsync: No settings found:")
    for name in ALL_REQUIRED:
        assert name in sentence
    for path in looked_in(env, cwd):
        assert path in sentence
    assert "the environment" in sentence and "tconnectsync --demo" in sentence


@pytest.mark.parametrize("tty", [False, True], ids=["no-tty", "tty"])
@pytest.mark.parametrize("mode", list(MODES))
def test_partial_settings_name_every_missing_one(bare, mode, tty):
    env, cwd = bare
    (cwd / ".env").write_text("NS_URL=https://ns.example.com/\n")
    env = dict(env, TCONNECT_EMAIL="me@example.com")
    result = run_cli(MODES[mode], env, str(cwd), tty)
    assert result.returncode == 2, result.output
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    sentence = lines[0]
    for name in ("TCONNECT_PASSWORD", "NS_SECRET", "TIMEZONE_NAME"):
        assert name in sentence
    assert "TCONNECT_EMAIL" not in sentence and "NS_URL" not in sentence
    for path in looked_in(env, cwd):
        assert path in sentence
    assert "Demo:" not in result.output and "Traceback" not in result.output


@pytest.mark.parametrize("tty", [False, True], ids=["no-tty", "tty"])
def test_demo_flag_runs_the_demo_anywhere(bare, tty):
    env, cwd = bare
    result = run_cli(["--demo", "--features", "BOLUS"], env, str(cwd), tty)
    assert result.returncode == 0, result.output
    assert "Demo:" in result.stdout and "Combo Bolus" in result.stdout
    assert "No tconnectsync settings found" not in result.stdout


def test_xdg_config_home_settings_are_found_by_the_command(bare, tmp_path):
    env, cwd = bare
    xdg = tmp_path / "xdg"
    (xdg / "tconnectsync").mkdir(parents=True)
    (xdg / "tconnectsync" / ".env").write_text("TCONNECT_EMAIL=me@example.com\nTCONNECT_PASSWORD=pw\n")
    (xdg / "tconnectsync" / ".env").chmod(0o600)
    env = dict(env, XDG_CONFIG_HOME=str(xdg))
    result = run_cli(["--pretend"], env, str(cwd), tty=False)
    assert result.returncode == 2
    sentence = result.stderr.strip()
    assert "TCONNECT_PASSWORD" not in sentence and "NS_URL" in sentence
    assert str(xdg / "tconnectsync" / ".env") in sentence
