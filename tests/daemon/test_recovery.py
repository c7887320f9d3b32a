"""The daemon says, in one line, when a remote answers again after an outage."""
import datetime as dt
import logging
import re

D = dt.datetime


def recovery_lines(caplog):
    return [r.getMessage() for r in caplog.records
            if r.name == "tconnectsync.sync.autoupdate" and "after" in r.getMessage() and "failed poll" in r.getMessage()]


def test_tandem_answers_again_one_line_with_since_and_catch_up(make_loop, caplog):
    loop = make_loop(D(2022, 5, 10, 20, 0), days_after=3, interval_s=900)
    loop.run(2)
    loop.tandem.down = True
    first_failure = None
    with caplog.at_level(logging.INFO):
        for _ in range(40):
            loop.run(1)
            if first_failure is None and loop.loop.failures:
                first_failure = D.fromisoformat(loop.loop.status["last_error"]["time"].replace("Z", "+00:00"))
            if loop.loop.failures >= 4:
                break
        failed = loop.loop.failures
        assert failed >= 4 and not recovery_lines(caplog)
        loop.tandem.down = False
        loop.run(2)
    lines = recovery_lines(caplog)
    assert len(lines) == 1, lines
    since = first_failure.astimezone(loop.tz).strftime("%Y-%m-%d %H:%M")
    assert re.fullmatch(r"t:connect \(tdcservices\) answers again after %d failed polls \(since %s\); "
                        r"(caught up from \d{4}-\d\d-\d\d|nothing to catch up)\." % (failed, re.escape(since)),
                        lines[0]), lines[0]
    assert loop.loop.status["consecutive_failures"] == 0


def test_nightscout_answers_again_names_nightscout(make_loop, caplog):
    loop = make_loop(D(2022, 5, 10, 6, 0), days_after=1)
    loop.run(2)
    loop.ns.down = True
    loop.tandem.scenario.set_cutoff(loop.clock.now() + dt.timedelta(hours=3))   # new data keeps the sync due
    with caplog.at_level(logging.INFO):
        loop.run(3)
        assert loop.loop.failures >= 2
        loop.ns.down = False
        loop.run(1)
    lines = recovery_lines(caplog)
    assert len(lines) == 1, lines
    assert lines[0].startswith("Nightscout answers again after ")
    assert "caught up from 2022-05-09" in lines[0]
