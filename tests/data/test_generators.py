"""The committed fixtures are exactly what their generators write (run into a temporary folder)."""
import importlib.util
import os

import pytest

from tests import data

# Files in a fixture folder that its generator does not write: the generator itself, the folder's
# README, and (Tandem Source) the requests tconnectsync 3.0.3 made, recorded by
# verify_with_tconnectsync.py (see tandemsource/README.md).
NOT_GENERATED = {"generate_fixtures.py", "README.md", "verify_with_tconnectsync.py",
                 "expected-tandem-requests.json", "expected-nightscout-requests.json"}


def load_generator(folder):
    spec = importlib.util.spec_from_file_location("generate_fixtures_" + folder.name,
                                                  folder / "generate_fixtures.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def files_under(root):
    out = {}
    for dirpath, _dirs, names in os.walk(root):
        for name in names:
            if name in NOT_GENERATED or name.endswith(".pyc"):
                continue
            path = os.path.join(dirpath, name)
            out[os.path.relpath(path, root)] = path
    return out


def assert_same_tree(generated, committed):
    made, kept = files_under(generated), files_under(committed)
    assert sorted(made) == sorted(kept), "generated and committed file lists differ"
    different = []
    for rel in sorted(made):
        with open(made[rel], "rb") as a, open(kept[rel], "rb") as b:
            if a.read() != b.read():
                different.append(rel)
    assert different == [], "regenerate with generate_fixtures.py (see the folder's README)"


def test_tconnect_fixtures_are_reproduced_by_their_generator(tmp_path):
    gen = load_generator(data.TCONNECT)
    gen.main(str(tmp_path))
    assert gen.OUT == gen.HERE                     # writing elsewhere does not stick
    assert len(files_under(tmp_path)) == 37
    assert_same_tree(tmp_path, data.TCONNECT)


def test_tandemsource_fixtures_are_reproduced_by_their_generator(tmp_path):
    gen = load_generator(data.TANDEMSOURCE)
    assert os.path.samefile(gen.DEFAULT_EVENTS_JSON, data.EVENTS_JSON)   # the catalog the package ships
    records, events = gen.build(str(tmp_path), gen.DEFAULT_EVENTS_JSON)
    assert (records, events) == (107, 106)
    assert_same_tree(tmp_path, data.TANDEMSOURCE)


def test_the_expected_requests_recorded_from_tconnectsync_3_0_3_are_there():
    for name in ("expected-tandem-requests.json", "expected-nightscout-requests.json"):
        assert (data.TANDEMSOURCE / name).stat().st_size > 1000, name


@pytest.mark.parametrize("folder", [data.TCONNECT, data.TANDEMSOURCE], ids=["tconnect", "tandemsource"])
def test_a_changed_fixture_is_noticed(tmp_path, folder):
    """The comparison itself can fail: one changed byte in a copy is reported."""
    gen = load_generator(folder)
    made = tmp_path / "made"
    made.mkdir()
    if folder == data.TCONNECT:
        gen.main(str(made))
    else:
        gen.build(str(made), gen.DEFAULT_EVENTS_JSON)
    victim = sorted(files_under(made).values())[0]
    with open(victim, "ab") as f:
        f.write(b" ")
    with pytest.raises(AssertionError, match="regenerate"):
        assert_same_tree(made, folder)
