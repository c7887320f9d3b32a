"""What a run tells about events it ignored (codes nobody decodes) and warnings logged once per process."""
import datetime as dt
import logging

from tconnectsync import logs
from tconnectsync.parser.records import ParseWarning
from tconnectsync.sync.report import Summary, format_summary, summary_dict

DAY = dt.date(2026, 8, 12)


def summary():
    return Summary(start=DAY, end=DAY, features=("BASAL",))


def test_ignored_events_are_counted_per_code_across_chunks_and_shown_with_v_and_in_json():
    total = summary()
    for ignored in ({57: 2, 8: 1}, {57: 1, 27: 4}):
        part = summary()
        part.add_ignored(ignored)
        total.absorb(part)
    assert total.ignored == {57: 3, 8: 1, 27: 4} and total.ignored_count == 8 and total.warning_count == 0
    plain = format_summary(total, "America/New_York")
    assert "ignored" not in plain and "could not be read" not in plain
    verbose = format_summary(total, "America/New_York", verbose=True)
    assert "8 pump events of kinds tconnectsync does not read were ignored (event codes 8: 1, 27: 4, 57: 3)." \
        in " ".join(verbose.split())
    data = summary_dict(total, "America/New_York")
    assert data["ignored"] == {"count": 8, "by_code": {"8": 1, "27": 4, "57": 3}} and data["warnings"] == 0


def test_the_same_warning_is_logged_once_per_process_but_counted_in_every_run(caplog):
    w = ParseWarning("Tandem pump clock", "event 13 seq 5 (2026-03-08T02:00:00)", "an old clock change")
    other = ParseWarning("Tandem Source pump-logs", "event 279 seq 9", "Commanded Rate is missing")
    runs = []
    with caplog.at_level(logging.DEBUG, logger="tconnectsync.sync.report"):
        for _ in range(3):                          # three daemon cycles
            s = summary()
            s.add_warnings([w])
            runs.append(s.warning_count)
        s.add_warnings([other])
    warned = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert warned == [str(w), str(other)]
    again = [r.getMessage() for r in caplog.records if r.levelno == logging.DEBUG]
    assert again == [str(w) + " (warned about before in this process)"] * 2
    assert runs == [1, 1, 1]
    logs.forget_warnings()
    assert logs.warn_once(logging.getLogger("t"), str(w)) is True


def test_warn_once_memory_is_bounded():
    seen = logs._Seen(limit=3)
    assert [seen.first(k) for k in "abcab"] == [True, True, True, False, False]
    assert seen.first("d") and seen.first("c")                # "c" was the oldest: forgotten
    assert len(seen.keys) == 3
