"""The health verdict the container's HEALTHCHECK prints (python -m tconnectsync.web.health)."""
import datetime as dt
import io

import pytest

from tconnectsync import status
from tconnectsync.web import health

NOW = dt.datetime(2026, 3, 1, 12, 0, tzinfo=dt.timezone.utc)


def ago(minutes):
    return (NOW - dt.timedelta(minutes=minutes)).isoformat()


@pytest.mark.parametrize("state, code, words", [
    ({}, 1, "no successful sync or poll"),
    ({"last_success": ago(5), "consecutive_failures": 0}, 0, "healthy"),
    ({"last_success": ago(61)}, 1, "more than 60 min"),
    # the daemon polls; nothing new from the pump for hours is healthy
    ({"last_success": ago(300), "last_poll": ago(4), "consecutive_failures": 0, "state": "polling"}, 0, "healthy"),
    # polls get through but the syncs fail: unhealthy, with the error
    ({"last_success": ago(300), "last_poll": ago(4), "consecutive_failures": 2, "state": "backing-off",
      "last_error": {"message": "Nightscout refused the secret"}}, 1, "Nightscout refused the secret"),
    ({"last_poll": ago(4), "consecutive_failures": 0, "state": "credentials-refused"}, 1, "unhealthy"),
    ({"last_success": "not a time", "consecutive_failures": 0}, 1, "no successful sync or poll"),
])
def test_verdicts(tmp_path, state, code, words):
    path = tmp_path / "status.json"
    if state:
        status.write(path, state)
    out = io.StringIO()
    environ = {"TCONNECTSYNC_STATUS_FILE": str(path), "HOME": str(tmp_path)}
    assert health.main(environ=environ, out=out, now=NOW) == code, out.getvalue()
    assert words in out.getvalue()
    assert out.getvalue().startswith("healthy" if code == 0 else "unhealthy")


def test_max_age_setting_and_a_bad_one(tmp_path):
    path = tmp_path / "status.json"
    status.write(path, {"last_success": ago(90), "consecutive_failures": 0})
    environ = {"TCONNECTSYNC_STATUS_FILE": str(path), "HOME": str(tmp_path)}
    assert health.main(environ=dict(environ, TCONNECTSYNC_HEALTH_MAX_AGE_MINS="120"), out=io.StringIO(), now=NOW) == 0
    out = io.StringIO()
    assert health.main(environ=dict(environ, TCONNECTSYNC_HEALTH_MAX_AGE_MINS="soon"), out=out, now=NOW) == 1
    assert "TCONNECTSYNC_HEALTH_MAX_AGE_MINS" in out.getvalue()
