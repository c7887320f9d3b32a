"""The run's summary reads as sentences: a failure's reason (itself a sentence) inside another
sentence has no second period."""
import datetime as dt

from tconnectsync.errors import TransientError
from tconnectsync.sync.report import ChunkFailure, Summary, exit_code_for, format_summary

DAY = dt.date(2026, 3, 4)
REASON = "Tandem Source answered HTTP 503 after 4 attempts."


def failed_summary():
    summary = Summary(start=DAY, end=DAY, features=("BOLUS",))
    summary.chunks = 1
    summary.failures.append(ChunkFailure(DAY, DAY, REASON, remote="Tandem Source",
                                         error=TransientError(REASON, remote="Tandem Source")))
    return summary


def test_a_reason_inside_a_sentence_has_one_period():
    text = format_summary(failed_summary(), "America/New_York")
    assert "after 4 attempts" in text and ".." not in text.replace("%s..%s" % (DAY, DAY), ""), text
    code, sentence = exit_code_for(failed_summary())
    assert code == 4 and "after 4 attempts" in sentence and ".)" not in sentence, sentence


def test_an_unexpected_error_is_told_in_words_not_by_its_class_name():
    from tconnectsync.sync.engine import _reason

    class ChunkedEncodingError(Exception):
        pass
    reason = _reason(ChunkedEncodingError("Connection broken: IncompleteRead(0 bytes read)"))
    assert "ChunkedEncodingError" not in reason and "IncompleteRead" in reason and "-v" in reason
