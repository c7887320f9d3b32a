"""What real Tandem Source answers hold, through the real CLI against the sandbox over HTTP:
events of codes nobody decodes are ignored (counted, no warning); a corrupt event of a decoded
kind still warns; an id_token that does not verify is a login failure (exit code 3, one sentence);
another audience is one warning and the sync goes on."""
import datetime as dt
import json

import pytest

from .test_source import PASSWORD, SECRET, assert_matches_truth, source_env  # noqa: F401 - the fixture

DAY = dt.date(2025, 3, 4)
UNDEFINED = {"8", "27", "57", "69", "558", "559", "562", "563", "564", "565", "566"}


def warnings_in(output):
    return [line for line in output.splitlines() if " WARNING " in line]


def test_a_day_with_undecoded_codes_syncs_without_warnings_and_counts_them_ignored(source_env):
    env = source_env(DAY, DAY)
    result = env.run("--start-date", str(DAY), "--end-date", str(DAY), "--json")
    assert result.returncode == 0, result.output
    assert warnings_in(result.output) == [] and "could not be read" not in result.output
    summary = json.loads(result.stdout)
    assert summary["warnings"] == 0 and all(f["unreadable"] == 0 for f in summary["features"].values())
    assert set(summary["ignored"]["by_code"]) == UNDEFINED
    assert summary["ignored"]["count"] == sum(summary["ignored"]["by_code"].values()) >= 15
    assert_matches_truth(env, DAY, DAY)
    verbose = env.run("--start-date", str(DAY), "--end-date", str(DAY), "-v")
    assert verbose.returncode == 0 and warnings_in(verbose.output) == []
    assert "of kinds tconnectsync does not read were ignored" in verbose.output
    plain = env.run("--start-date", str(DAY), "--end-date", str(DAY))
    assert "ignored" not in plain.stdout


def test_a_corrupt_event_of_a_decoded_kind_still_warns(source_env):
    env = source_env(DAY, DAY)
    pump = env.tandem.pumps[0]
    events = pump.log.events(dt.datetime(2025, 3, 4, 12), dt.datetime(2025, 3, 4, 13))
    bad = next(e for e in events if e["eventCode"] == 279)
    env.tandem.damage_event(bad["sequenceNumber"], commandedRate="lots")
    result = env.run("--start-date", str(DAY), "--end-date", str(DAY), "--json")
    warned = warnings_in(result.output)
    assert len(warned) == 1 and "event 279 seq %d" % bad["sequenceNumber"] in warned[0], result.output
    summary = json.loads(result.stdout)
    assert summary["warnings"] == 1 and summary["features"]["BASAL"]["unreadable"] == 1
    assert set(summary["ignored"]["by_code"]) == UNDEFINED


@pytest.mark.parametrize("forge, says", [
    ({"wrong_key": True}, "signature does not match"),
    ({"iss": "https://tdcservices.eu.tandemdiabetes.com/accounts/api"}, "issued by someone else"),
    ({"exp": 1_000_000_000}, "computer's clock"),
])
def test_an_id_token_that_does_not_verify_is_a_login_failure(source_env, forge, says):
    env = source_env(DAY, DAY)
    env.tandem.forge_id_tokens(**forge)
    result = env.run("--start-date", str(DAY), "--end-date", str(DAY))
    assert result.returncode == 3, result.output
    errors = [line for line in result.stderr.splitlines() if line.startswith("tconnectsync: ")]
    assert len(errors) == 1 and says in errors[0] and "The Tandem Source login failed" in errors[0]
    assert "re-run" not in result.output and "could not be synced" not in result.output
    assert "Traceback" not in result.output and PASSWORD not in result.output and SECRET not in result.output
    assert env.tandem.login_attempts == 1 and env.ns.treatments() == []


def test_another_audience_logs_one_warning_and_syncs(source_env):
    env = source_env(DAY, DAY)
    env.tandem.forge_id_tokens(aud="0oaSOMEOTHERCLIENT")
    result = env.run("--start-date", str(DAY), "--end-date", str(DAY))
    assert result.returncode == 0, result.output
    warned = warnings_in(result.output)
    assert len(warned) == 1 and "audience '0oaSOMEOTHERCLIENT'" in warned[0]
    assert_matches_truth(env, DAY, DAY)


def test_a_warning_about_the_same_record_is_logged_once_per_process_and_counted_every_cycle(tmp_path, caplog):
    """Three sync cycles in one process, as the daemon runs them: the corrupt event is warned about
    once, each cycle's summary still counts it; the ignored events are counted every cycle."""
    from tconnectsync import timeutil
    from tconnectsync.config import Config
    from tconnectsync.runtime import build_clients, close_clients
    from tconnectsync.sandbox.nightscout import FakeNightscout
    from tconnectsync.sandbox.scenario import make_scenario
    from tconnectsync.sandbox.tandemsource import TandemSourceSandbox
    from tconnectsync.sync.engine import sync_once

    tz = timeutil.get_zone("America/New_York")
    scenario = make_scenario(DAY, DAY, cutoff=timeutil.day_bounds_utc(DAY, tz)[1])
    with TandemSourceSandbox(scenario, email="cycles@example.com", password=PASSWORD) as tandem, \
            FakeNightscout(api_secret=SECRET, flavor="15.0.7") as ns:
        bad = next(e for e in tandem.pumps[0].log.events(dt.datetime(2025, 3, 4, 9), dt.datetime(2025, 3, 4, 10))
                   if e["eventCode"] == 279)
        tandem.damage_event(bad["sequenceNumber"], commandedRateSource=-1)
        config = Config(email="cycles@example.com", password=PASSWORD, pump_serial=scenario.serial, ns_url=ns.url,
                        ns_secret=SECRET,
                        timezone_name="America/New_York", api="source", region="US", sso_url=tandem.sso_url,
                        services_url=tandem.services_url, source_url=tandem.source_url, http_timeout=10.0,
                        token_file=str(tmp_path / "tokens.json"))
        clients = build_clients(config)
        summaries = []
        try:
            with caplog.at_level("DEBUG"):
                for _ in range(3):
                    summaries.append(sync_once(config, clients, (DAY, DAY), ("BASAL", "BOLUS", "PUMP_EVENTS")))
        finally:
            close_clients(clients)
    name = "event 279 seq %d" % bad["sequenceNumber"]
    warned = [r.getMessage() for r in caplog.records if r.levelname == "WARNING" and "skipped" in r.getMessage()]
    assert len(warned) == 1 and name in warned[0]
    assert sum(1 for r in caplog.records if r.levelname == "DEBUG" and name in r.getMessage()
               and "warned about before" in r.getMessage()) == 2
    assert [s.warning_count for s in summaries] == [1, 1, 1]
    assert [s.counts["BASAL"].unreadable for s in summaries] == [1, 1, 1]
    assert len({tuple(sorted(s.ignored.items())) for s in summaries}) == 1 and summaries[0].ignored_count >= 15
