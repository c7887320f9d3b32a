"""scripts/nightscout-local.sh: how install15 treats its archive, checked before any network use."""
import hashlib
import io
import json
import shutil
import subprocess
import tarfile

import pytest

from .conftest import SCRIPT

pytestmark = pytest.mark.skipif(not shutil.which("bash"), reason="bash is not installed")


def run(*args):
    return subprocess.run(["bash", str(SCRIPT), *map(str, args)], capture_output=True, text=True, timeout=60)


def archive(path, files):
    with tarfile.open(path, "w:gz") as tar:
        for name, text in files.items():
            data = text.encode("utf-8")
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return path


def test_an_absent_archive_is_a_skip_with_its_own_exit_code(tmp_path):
    result = run("install15", tmp_path / "ns15", tmp_path / "nowhere.tar.gz")
    assert result.returncode == 3
    assert "skipped Nightscout 15.0.7" in result.stderr and "nowhere.tar.gz is absent" in result.stderr
    assert not (tmp_path / "ns15").exists()


def test_a_checksum_mismatch_stops_the_install(tmp_path):
    path = archive(tmp_path / "cgm.tar.gz", {"package.json": "{}"})
    (tmp_path / "cgm.tar.gz.sha256").write_text("0" * 64 + "  cgm.tar.gz\n")
    result = run("install15", tmp_path / "ns15", path)
    assert result.returncode == 1
    assert "does not match" in result.stderr and hashlib.sha256(path.read_bytes()).hexdigest() in result.stderr
    assert not (tmp_path / "ns15").exists()


@pytest.mark.skipif(not shutil.which("node"), reason="node is not installed")
@pytest.mark.parametrize("files, message", [
    ({"README.md": "not nightscout"}, "it is not the cgm-remote-monitor source"),
    ({"package.json": json.dumps({"version": "14.2.6"}), "lib/server/server.js": ""}, "is Nightscout 14.2.6, not 15.0.7"),
], ids=["not-nightscout", "other-version"])
def test_a_wrong_archive_is_refused_before_the_registry_is_asked(tmp_path, files, message):
    path = archive(tmp_path / "cgm.tar.gz", files)
    (tmp_path / "cgm.tar.gz.sha256").write_text(hashlib.sha256(path.read_bytes()).hexdigest() + "  cgm.tar.gz\n")
    result = run("install15", tmp_path / "ns15", path)
    assert result.returncode == 1, result.stdout + result.stderr
    assert "matches its sha256" in result.stdout and message in result.stderr
    assert not (tmp_path / "ns15" / "cgm").exists() and not (tmp_path / "ns15" / "db").exists()


def test_version_names_what_a_folder_holds(tmp_path):
    result = run("version", tmp_path)
    assert result.returncode == 1 and "no Nightscout installed in" in result.stderr
    for marker in ("db/.installed", "cgm/.installed"):
        (tmp_path / marker).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / marker).touch()
    assert run("version", tmp_path).stdout.strip() == "15.0.7"
