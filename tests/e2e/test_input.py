"""Bad input from a person, through the real CLI: one sentence, exit 2, nothing sent or written."""
import datetime as dt

import pytest

from .test_sync import stored

START, END = dt.date(2021, 10, 20), dt.date(2021, 10, 21)


def writes(env):
    return [m for m, _ in env.ns.request_log if m in ("POST", "PUT", "DELETE")]


@pytest.mark.parametrize("wrong", ["wrong", "zero-padded"])
def test_a_serial_the_data_does_not_carry_is_refused_before_any_write(make_env, wrong):
    env = make_env(START, END)
    real = env.scenario.serial
    configured = "12345678" if wrong == "wrong" else "0" + real
    result = env.run("--start-date", str(START), "--end-date", str(END), extra={"PUMP_SERIAL_NUMBER": configured})
    assert result.returncode == 2, result.output
    assert configured in result.stderr and real in result.stderr
    assert "Traceback" not in result.output
    assert writes(env) == []


def test_unicode_digits_are_not_a_serial(make_env):
    env = make_env(START, START)
    result = env.run("--start-date", str(START), "--end-date", str(START), extra={"PUMP_SERIAL_NUMBER": "١٢٣"})
    assert result.returncode == 2, result.output
    assert "PUMP_SERIAL_NUMBER" in result.stderr and "0-9" in result.stderr
    assert env.tandem.request_log == [] and env.ns.request_log == []


def test_the_right_serial_keeps_its_identifiers(make_env):
    env = make_env(START, START)
    first = env.run("--start-date", str(START), "--end-date", str(START), "--features", "BASAL", "BOLUS")
    assert first.returncode == 0, first.output
    ids = sorted(d["identifier"] for d in stored(env))
    assert ids and all(isinstance(i, str) for i in ids)
    again = env.run("--start-date", str(START), "--end-date", str(START), "--features", "BASAL", "BOLUS")
    assert again.returncode == 0, again.output
    assert sorted(d["identifier"] for d in stored(env)) == ids


def test_a_start_date_in_the_far_future_is_one_sentence(make_env):
    env = make_env(START, START)
    result = env.run("--start-date", "9999-12-30", "--end-date", "9999-12-31")
    assert result.returncode == 2, result.output
    assert "9999-12-30" in result.stderr and "after today" in result.stderr
    assert "Error" not in result.stderr and "Traceback" not in result.output
    assert env.tandem.request_log == [] and env.ns.request_log == []


def test_a_legacy_backfill_over_three_years_needs_the_flag(make_env):
    env = make_env(START, START)
    result = env.run("--start-date", "1900-01-01", "--end-date", "2099-12-31")
    assert result.returncode == 2, result.output
    assert "--allow-long-range" in result.stderr
    assert env.tandem.request_log == [] and env.ns.request_log == []
    # With the flag the range is accepted (the end still stops at today); --check-login reads the
    # window in a few requests, where a sync would read it day by day.
    allowed = env.run("--start-date", "2021-10-20", "--end-date", "2099-12-31", "--allow-long-range",
                      "--check-login")
    assert "window: 2021-10-20.." in allowed.stdout, allowed.output
    assert "after today: syncing up to today" in allowed.stderr, allowed.output
    assert "--allow-long-range" not in allowed.stderr


@pytest.mark.parametrize("content", [b"NS_SECRET=caf\xe9\n", b"\x00\x01\x02\xff\xfe binary"],
                         ids=["latin-1", "binary"])
def test_an_env_file_that_is_not_utf8_text_is_named(make_env, content):
    env = make_env(START, START)
    (env.tmp_path / ".env").write_bytes(content)
    result = env.run("--start-date", str(START), "--end-date", str(START))
    assert result.returncode == 2, result.output
    assert str(env.tmp_path / ".env") in result.stderr
    assert result.stderr.count("\n") == 1 and "Traceback" not in result.output
    assert env.tandem.request_log == [] and env.ns.request_log == []


def test_a_port_out_of_range_in_ns_url_is_named(make_env):
    env = make_env(START, START)
    result = env.run("--start-date", str(START), "--end-date", str(START), extra={"NS_URL": "http://127.0.0.1:99999/"})
    assert result.returncode == 2, result.output
    assert "NS_URL" in result.stderr and "99999" in result.stderr and "65535" in result.stderr
    assert result.stderr.count("\n") == 1
    assert env.tandem.request_log == [] and env.ns.request_log == []


def test_the_summary_agrees_in_number():
    from tconnectsync.sync.report import Summary, format_summary
    one = Summary(start=START, end=START, features=("BOLUS",), warning_count=1)
    two = Summary(start=START, end=START, features=("BOLUS",), warning_count=2)
    assert "1 record could not be read and was skipped" in format_summary(one, "UTC")
    assert "2 records could not be read and were skipped" in format_summary(two, "UTC")
