"""The secret in a monitor's URL (?secret=) reaches no log: gunicorn from the Procfile, and our own lines."""
import io
import logging
import os
import shlex
import subprocess

import pytest
import requests

pytest.importorskip("gunicorn", reason="the gunicorn test needs gunicorn: pip install -e '.[test]'")

from tconnectsync import logs  # noqa: E402

from .conftest import APP_SECRET, PYTHON, REPO, start_process, subprocess_env  # noqa: E402


def procfile_args(port=0):
    """The Procfile's web command as argv, bound to 127.0.0.1 (as Heroku runs it, with $PORT set)."""
    with open(os.path.join(REPO, "Procfile"), encoding="utf-8") as fh:
        line = fh.read().strip()
    assert line.startswith("web: ")
    args = shlex.split(line[len("web: "):].replace("$PORT", str(port)))
    assert args[0] == "gunicorn"
    args = [PYTHON, "-m", "gunicorn"] + [a.replace("0.0.0.0:", "127.0.0.1:") for a in args[1:]]
    return args


def test_the_procfile_access_log_leaves_the_query_out(web_env, tmp_path):
    proc, line, seen = start_process(procfile_args(), subprocess_env(dict(web_env.environ), tmp_path / "home"),
                                     tmp_path)
    try:
        base = line.split("Listening at: ", 1)[1].split()[0].rstrip("/")
        assert requests.get(base + "/health", params={"secret": APP_SECRET, "token": "tok-123456"},
                            timeout=30).status_code in (200, 503)
        assert requests.get(base + "/", params={"api_secret": APP_SECRET}, timeout=30).status_code == 200
        assert requests.get(base + "/run", params={"secret": "wrong-secret-987"}, timeout=30).status_code == 403
    finally:
        proc.terminate()
        out = proc.communicate(timeout=30)[0].decode(errors="replace")
    text = b"".join(seen).decode(errors="replace") + out
    access = [l for l in text.splitlines() if '"GET /' in l]
    assert len(access) == 3, text                       # the access log is on, one line per request
    assert any('"GET /health HTTP/1.1" ' in l for l in access), access
    for secret in (APP_SECRET, "tok-123456", "wrong-secret-987", "secret=", "token="):
        assert secret not in text


def test_our_log_lines_blank_secret_query_values():
    stream = io.StringIO()
    handler = logs.setup(stream=stream)
    try:
        logging.getLogger("tconnectsync.test").warning("GET %s failed", "https://x.example/run?days=2&secret=s3cr3t-v4lue")
        logging.getLogger("werkzeug").info("127.0.0.1 - \"GET /health?api_secret=abc123&token=t0k HTTP/1.1\" 200")
    finally:
        logging.getLogger().removeHandler(handler)
    text = stream.getvalue()
    assert "s3cr3t-v4lue" not in text and "abc123" not in text and "t0k " not in text
    assert "secret=***" in text and "api_secret=***" in text and "days=2" in text
