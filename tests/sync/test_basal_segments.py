"""basal.build_segments, the pure core of legacy BASAL: what a chunk's records say about delivery,
whatever days the chunk holds."""
import datetime as dt

from tconnectsync import timeutil
from tconnectsync.parser.records import BasalSegment, CsvBasalRate, Reading, SuspensionMark
from tconnectsync.sync import basal
from tconnectsync.sync.tconnect import ChunkData

TZ = timeutil.get_zone("America/New_York")
UTC = dt.timezone.utc


def utc(*args):
    return dt.datetime(*args, tzinfo=UTC)


def chunk(start, end, **kw):
    data = ChunkData(start=start, end=end, **kw)
    data.window_start = timeutil.day_bounds_utc(start, TZ)[0]
    data.window_end = timeutil.day_bounds_utc(end, TZ)[1]
    return data


# A manual suspension at 23:11:17 pump time on March 10th (EDT, UTC-4), still active when the data
# ends at 00:07 on the 11th; t:connect repeats it at 00:00 of the 11th (continuation).
SUSPENDED = utc(2026, 3, 11, 3, 11, 17)
MIDNIGHT = utc(2026, 3, 11, 4, 0)
DATA_END = utc(2026, 3, 11, 4, 7)
BEFORE = BasalSegment(start=utc(2026, 3, 11, 3, 10), duration_s=77, rate=0.85, kind="profile")
ORIGINAL = SuspensionMark(SUSPENDED, "manual")
REPEAT = SuspensionMark(MIDNIGHT, "manual", continuation=True)
LAST_READING = Reading(utc(2026, 3, 11, 4, 2, 33), 120, "EGV")


def test_a_day_with_only_the_midnight_repeat_gives_its_zero_rate_segment():
    """The 11th read alone has no delivery segment, only the 00:00 repeat: the pump was
    suspended from midnight to the data's end (the data's end is known from the other records)."""
    data = chunk(dt.date(2026, 3, 11), dt.date(2026, 3, 11), suspensions=[REPEAT],
                 readings=[LAST_READING, Reading(DATA_END, 118, "EGV")])
    tally = basal.Tally()
    assert basal.build_segments(data, TZ, tally) == [(MIDNIGHT, DATA_END, 0.0, "manual suspension")]
    assert tally.skipped == [] and tally.merged == 0
    assert basal.records_read(data) == 1


def test_the_repeat_gives_the_same_segment_whichever_chunk_reads_it():
    """The 10th and 11th in one chunk, or the 11th alone: the 11th's segments are the same."""
    readings = [LAST_READING, Reading(DATA_END, 118, "EGV")]
    both = chunk(dt.date(2026, 3, 10), dt.date(2026, 3, 11), segments=[BEFORE], suspensions=[ORIGINAL, REPEAT],
                 readings=readings)
    alone = chunk(dt.date(2026, 3, 11), dt.date(2026, 3, 11), suspensions=[REPEAT], readings=readings)
    whole = basal.build_segments(both, TZ)
    assert whole == [(BEFORE.start, SUSPENDED, 0.85, "profileDelivery"),
                     (SUSPENDED, MIDNIGHT, 0.0, "manual suspension"),
                     (MIDNIGHT, DATA_END, 0.0, "manual suspension")]
    assert [s for s in whole if s[0] >= MIDNIGHT] == basal.build_segments(alone, TZ)


def test_a_suspension_only_chunk_still_uses_the_csv_rates_of_days_without_control_iq():
    """Control:IQ lists no delivery segment: the CSV's rates (days without Control-IQ) still count,
    and a suspension cuts the rate running when it starts."""
    day = dt.date(2026, 3, 11)
    rows = [CsvBasalRate(utc(2026, 3, 11, 4, 0), 0.8), CsvBasalRate(utc(2026, 3, 11, 10, 0), 1.0)]
    data = chunk(day, day, suspensions=[SuspensionMark(utc(2026, 3, 11, 12, 0), "alarm")], csv_basal=rows,
                 readings=[Reading(utc(2026, 3, 11, 12, 30), 110, "EGV")])
    assert basal.build_segments(data, TZ) == [
        (utc(2026, 3, 11, 4, 0), utc(2026, 3, 11, 10, 0), 0.8, "Unknown"),
        (utc(2026, 3, 11, 10, 0), utc(2026, 3, 11, 12, 0), 1.0, "Unknown"),
        (utc(2026, 3, 11, 12, 0), utc(2026, 3, 11, 12, 30), 0.0, "alarm suspension")]
    assert basal.records_read(data) == 3


def test_csv_rates_are_not_read_when_control_iq_has_segments():
    day = dt.date(2026, 3, 11)
    seg = BasalSegment(start=utc(2026, 3, 11, 5, 0), duration_s=600, rate=0.7, kind="algorithm")
    data = chunk(day, day, segments=[seg], csv_basal=[CsvBasalRate(utc(2026, 3, 11, 4, 0), 0.8)])
    assert basal.build_segments(data, TZ) == [(seg.start, utc(2026, 3, 11, 5, 10), 0.7, "algorithmDelivery")]
    assert basal.records_read(data) == 1


def test_a_suspension_that_is_the_newest_record_waits_for_its_duration():
    """Nothing after the mark: its length is unknown (not 'resumed within the second')."""
    data = chunk(dt.date(2026, 3, 10), dt.date(2026, 3, 10), segments=[BEFORE], suspensions=[ORIGINAL])
    tally = basal.Tally()
    assert basal.build_segments(data, TZ, tally) == [(BEFORE.start, SUSPENDED, 0.85, "profileDelivery")]
    assert [(s.key, s) for s in tally.skipped] == [
        ("basal-pending", "manual suspension at 2026-03-11T03:11:17+00:00: at the end of the data, no duration yet")]


def test_csv_rates_replaced_within_the_second_and_at_the_data_end_are_told_apart():
    day = dt.date(2026, 3, 11)
    rows = [CsvBasalRate(utc(2026, 3, 11, 5, 0), 0.8), CsvBasalRate(utc(2026, 3, 11, 5, 0), 0.9),
            CsvBasalRate(utc(2026, 3, 11, 6, 0), 1.0)]
    tally = basal.Tally()
    assert basal.build_segments(chunk(day, day, csv_basal=rows), TZ, tally) == [
        (utc(2026, 3, 11, 5, 0), utc(2026, 3, 11, 6, 0), 0.9, "Unknown")]
    assert [s.key for s in tally.skipped] == ["basal-instant", "basal-pending"]
