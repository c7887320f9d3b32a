"""How a run ended, in the few words every place shows it: ``/health`` and the web page's badge,
the daemon's status file, ``--check-login`` and the container's health check.

Plain functions of an exception or of the status file's state, so that the daemon (``sync/``), the
checker and the web app (``web/``) share them without importing each other.
"""
from .errors import (ConfigError, LoginError, LoginThrottled, NightscoutAuthError, NightscoutError, RateLimited,
                     TandemError, TandemFormatError, TransientError)


def problem_of(exc):
    """The few words a badge shows for what stopped a run (the same words everywhere: /health,
    the page, the daemon's status file, --check-login)."""
    cause = getattr(exc, "__cause__", None)
    if not isinstance(exc, (LoginError, LoginThrottled, NightscoutAuthError, ConfigError)) and cause is not None:
        if isinstance(cause, (NightscoutAuthError, NightscoutError, TransientError)):
            exc = cause
    if isinstance(exc, NightscoutAuthError):
        return "Nightscout refused the secret"
    if isinstance(exc, LoginThrottled):
        return "Tandem logins paused"
    if isinstance(exc, LoginError):
        return "Tandem login refused"
    if isinstance(exc, ConfigError):
        return "a setting needs fixing"
    if isinstance(exc, RateLimited):
        return "%s asked us to slow down" % (exc.remote or "a remote")
    if isinstance(exc, TransientError):
        return "%s did not answer" % (exc.remote or "a remote")
    if isinstance(exc, NightscoutError):
        return "Nightscout refused a write"
    if isinstance(exc, (TandemError, TandemFormatError)):
        return "Tandem answered something unusable"
    return "the last sync failed"


def summary_problem(summary):
    """``problem_of`` for a finished run with failed days: the newest failure's cause."""
    errors = [f.error for f in summary.failures if f.error is not None]
    return problem_of(errors[-1]) if errors else "some days could not be synced"


def last_run(state):
    """(failed, problem, message) of the last run the status file records: failed when a run
    failed since the last success (``consecutive_failures``)."""
    failures = int(state.get("consecutive_failures") or 0)
    error = state.get("last_error") if isinstance(state.get("last_error"), dict) else {}
    failed = failures > 0 or state.get("state") == "credentials-refused"
    problem = error.get("problem") or ("the last sync failed" if failed else None)
    return failed, (problem if failed else None), (error.get("message") if failed else None)


def outcome_sentence(state):
    """One line for people: how the last run ended, in the words /health and the badge use."""
    failed, problem, message = last_run(state)
    if failed:
        return "last run failed: %s (%s)" % (problem, message or "no details recorded")
    if state.get("last_success"):
        return "last run ok (last successful sync %s)" % state["last_success"]
    return "no run recorded yet"
