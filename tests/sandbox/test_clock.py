"""The sandbox's own pump clock, against UTC instants written out by hand.

The sandbox must not share time code with the product (a time bug would then be mirrored by
the fake and pass), so its clock is checked here on its own, at the DST changes.
"""
import datetime as dt

import pytest

from tconnectsync.sandbox import clock

UTC = dt.timezone.utc


def utc_s(*args):
    return int(dt.datetime(*args, tzinfo=UTC).timestamp())


# (zone, pump wall time, second showing?, the UTC instant, written by hand)
CASES = [
    # America/New_York, spring forward 2021-03-14: 02:00 EST -> 03:00 EDT
    ("America/New_York", (2021, 3, 14, 1, 59, 59), False, (2021, 3, 14, 6, 59, 59)),
    ("America/New_York", (2021, 3, 14, 3, 0, 0), False, (2021, 3, 14, 7, 0, 0)),
    ("America/New_York", (2021, 3, 14, 2, 30, 0), False, (2021, 3, 14, 7, 30, 0)),   # the gap: EST still
    # America/New_York, fall back 2021-11-07: 02:00 EDT -> 01:00 EST, 01:xx shown twice
    ("America/New_York", (2021, 11, 7, 0, 59, 59), False, (2021, 11, 7, 4, 59, 59)),
    ("America/New_York", (2021, 11, 7, 1, 30, 0), False, (2021, 11, 7, 5, 30, 0)),
    ("America/New_York", (2021, 11, 7, 1, 30, 0), True, (2021, 11, 7, 6, 30, 0)),
    ("America/New_York", (2021, 11, 7, 2, 0, 0), False, (2021, 11, 7, 7, 0, 0)),
    # Europe/Berlin, spring forward 2021-03-28: 02:00 CET -> 03:00 CEST
    ("Europe/Berlin", (2021, 3, 28, 1, 59, 59), False, (2021, 3, 28, 0, 59, 59)),
    ("Europe/Berlin", (2021, 3, 28, 3, 0, 0), False, (2021, 3, 28, 1, 0, 0)),
    ("Europe/Berlin", (2021, 3, 28, 2, 30, 0), False, (2021, 3, 28, 1, 30, 0)),      # the gap: CET still
    # Europe/Berlin, fall back 2021-10-31: 03:00 CEST -> 02:00 CET, 02:xx shown twice
    ("Europe/Berlin", (2021, 10, 31, 1, 59, 59), False, (2021, 10, 30, 23, 59, 59)),
    ("Europe/Berlin", (2021, 10, 31, 2, 30, 0), False, (2021, 10, 31, 0, 30, 0)),
    ("Europe/Berlin", (2021, 10, 31, 2, 30, 0), True, (2021, 10, 31, 1, 30, 0)),
    ("Europe/Berlin", (2021, 10, 31, 3, 0, 0), False, (2021, 10, 31, 2, 0, 0)),
]


@pytest.mark.parametrize("zone, wall, second, expected", CASES)
def test_wall_time_to_utc(zone, wall, second, expected):
    assert clock.utc_seconds(dt.datetime(*wall), zone, second=second) == utc_s(*expected)


@pytest.mark.parametrize("zone, wall, second, expected", [c for c in CASES if c[1][3:5] != (2, 30) or c[1][1] > 6])
def test_utc_to_wall_time_says_which_showing(zone, wall, second, expected):
    assert clock.wall_of(utc_s(*expected), zone) == (dt.datetime(*wall), second)


@pytest.mark.parametrize("zone, day, skipped", [("America/New_York", (2021, 3, 14), (2, 0)),
                                                ("Europe/Berlin", (2021, 3, 28), (2, 0))])
def test_the_clock_jumps_over_the_gap(zone, day, skipped):
    """Second by second across the change the wall clock jumps from 01:59:59 to 03:00:00."""
    before = clock.utc_seconds(dt.datetime(*day, 1, 59, 59), zone)
    walls = [clock.wall_of(before + i, zone)[0] for i in range(3)]
    assert walls == [dt.datetime(*day, 1, 59, 59), dt.datetime(*day, 3, 0, 0), dt.datetime(*day, 3, 0, 1)]
    assert clock.occurrences(dt.datetime(*day, *skipped), zone) == []


@pytest.mark.parametrize("zone, wall, first", [("America/New_York", (2021, 11, 7, 1, 0, 0), (2021, 11, 7, 5, 0, 0)),
                                               ("Europe/Berlin", (2021, 10, 31, 2, 0, 0), (2021, 10, 31, 0, 0, 0))])
def test_the_repeated_hour_is_shown_twice_an_hour_apart(zone, wall, first):
    assert clock.occurrences(dt.datetime(*wall), zone) == [utc_s(*first), utc_s(*first) + 3600]
    last_first = utc_s(*first) + 3599
    assert clock.wall_of(last_first, zone) == (dt.datetime(*wall) + dt.timedelta(seconds=3599), False)
    assert clock.wall_of(last_first + 1, zone) == (dt.datetime(*wall), True)


def test_pseudo_epoch_reads_the_wall_time_in_los_angeles():
    # 2021-10-20 07:44:05 on the pump -> that wall time in PDT (UTC-7)
    assert clock.pseudo_epoch(dt.datetime(2021, 10, 20, 7, 44, 5)) == utc_s(2021, 10, 20, 14, 44, 5)
    # Los Angeles falls back 2021-11-07 too: the two 01:02:33 are an hour apart
    assert clock.pseudo_epoch(dt.datetime(2021, 11, 7, 1, 2, 33)) == utc_s(2021, 11, 7, 8, 2, 33)
    assert clock.pseudo_epoch(dt.datetime(2021, 11, 7, 1, 2, 33), second=True) == utc_s(2021, 11, 7, 9, 2, 33)
    # a Berlin pump's 02:30 on 2021-03-14 does not exist in Los Angeles: read in PST
    assert clock.pseudo_epoch(dt.datetime(2021, 3, 14, 2, 30)) == utc_s(2021, 3, 14, 10, 30)


def test_today_is_the_pump_date():
    now = dt.datetime(2021, 10, 31, 3, 30, tzinfo=UTC)
    assert clock.today("America/New_York", now) == dt.date(2021, 10, 30)
    assert clock.today("Europe/Berlin", now) == dt.date(2021, 10, 31)
