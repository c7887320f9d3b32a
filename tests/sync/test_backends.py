"""Contract tests per backend: both Tandem backends behind one interface, built by the registry,
and the same pump history gives the same documents whichever backend read it, where both carry
the data. Real HTTP to the two Tandem sandboxes and the fake Nightscout on 127.0.0.1."""
import ast
import datetime as dt

import pytest

from tconnectsync import backends, timeutil
from tconnectsync.errors import ConfigError
from tconnectsync.runtime import build_clients, close_clients
from tconnectsync.sync.backend import Backend

from tests.sync.test_chunk_invariance import FIRST, World

WINDOW = (FIRST + dt.timedelta(days=2), FIRST + dt.timedelta(days=3))


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    w = World(tmp_path_factory.mktemp("contract"))
    yield w
    w.close()


@pytest.mark.parametrize("api", ["source", "legacy"])
def test_the_registry_builds_a_backend_behind_the_one_interface(world, api):
    spec = backends.spec(api)
    clients = build_clients(world.config(api, 1, 2))
    try:
        assert isinstance(clients.source, Backend)
        assert clients.source.name == spec.name and clients.source.remote == spec.remote
        assert set(spec.default_features) <= set(spec.features) <= set(backends.FEATURES)
    finally:
        close_clients(clients)


def test_an_unknown_api_is_one_sentence_naming_the_choices():
    with pytest.raises(ConfigError, match="TCONNECT_API must be one of legacy, source, not 'cloud'"):
        backends.spec("cloud")


def treatments(ns_state):
    """The documents of a World state (which keeps each value's repr)."""
    return [{k: ast.literal_eval(v) for k, v in doc} for doc in ns_state["treatments"]]


def _boluses(ns_state):
    return sorted((d["created_at"], d["insulin"], d.get("carbs"), d.get("glucose"))
                  for d in treatments(ns_state) if d["eventType"] == "Combo Bolus")


@pytest.mark.parametrize("seed", [1, 2])
def test_both_backends_give_the_same_boluses_and_basal_rates(world, seed):
    _, legacy = world.sync("legacy", seed, WINDOW, 1)
    _, source = world.sync("source", seed, WINDOW, 1)
    assert _boluses(legacy) and _boluses(legacy) == _boluses(source)
    # Basal: the same rate at every instant both cover (legacy cuts at midnight, Source at each change).
    tz = timeutil.get_zone("America/New_York")
    lo, hi = timeutil.day_bounds_utc(WINDOW[0], tz)[0], timeutil.day_bounds_utc(WINDOW[1], tz)[1]

    def rate_at(state, moment):
        for d in treatments(state):
            if d["eventType"] != "Temp Basal":
                continue
            begin = timeutil.parse_iso_utc(d["created_at"])
            if begin <= moment < begin + dt.timedelta(minutes=d["duration"]):
                return round(d["absolute"], 3)
        return None
    probes = [lo + dt.timedelta(minutes=17 + 47 * i) for i in range(int((hi - lo).total_seconds() // (47 * 60)))]
    both = [(t, rate_at(legacy, t), rate_at(source, t)) for t in probes]
    covered = [(t, a, b) for t, a, b in both if a is not None and b is not None]
    assert len(covered) > len(probes) * 0.9
    assert [x for x in covered if x[1] != x[2]] == []
