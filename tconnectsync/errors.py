"""The error types of tconnectsync.

Each carries one sentence that tells the user what went wrong and what to do. The CLI prints
that sentence (a traceback only with -v) and maps the type to an exit code.
"""


class TconnectsyncError(Exception):
    """Base class. ``str(err)`` is the sentence shown to the user; it never holds a secret."""

    exit_code = 1


class ConfigError(TconnectsyncError):
    """A setting or flag is missing or malformed (a person's input)."""

    exit_code = 2


class LoginError(TconnectsyncError):
    """Tandem refused the credentials. Fatal and never retried."""

    exit_code = 3


class TransientError(TconnectsyncError):
    """A remote failed in a way that may pass (connection error, timeout, 5xx).

    ``remote`` names it ("Nightscout", "Tandem Source", ...) when known."""

    exit_code = 4

    def __init__(self, message, remote=None):
        super().__init__(message)
        self.remote = remote


class RateLimited(TransientError):
    """The remote answered 429; ``retry_after`` is in seconds when it said so."""

    def __init__(self, message, retry_after=None, remote=None):
        super().__init__(message, remote)
        self.retry_after = retry_after


class TandemError(TconnectsyncError):
    """Tandem answered with an error that retrying will not fix (4xx other than 401/429)."""

    exit_code = 5

    def __init__(self, message, status=None):
        super().__init__(message)
        self.status = status


class TandemFormatError(TconnectsyncError):
    """Tandem's answer does not have the shape we know (a field changed); names the field."""

    exit_code = 5


class NightscoutError(TconnectsyncError):
    """Nightscout refused a request or answered with something unusable."""

    exit_code = 6

    def __init__(self, message, status=None):
        super().__init__(message)
        self.status = status


class NightscoutAuthError(NightscoutError):
    """Nightscout answered 401: the secret is wrong or lacks permission."""


class LoginThrottled(TransientError):
    """We refused to send another login: too many attempts in the last hour (Tandem locks accounts)."""


class BadCredentials(LoginError):
    """Tandem said the e-mail address or password is wrong."""


class AccountLocked(LoginError):
    """Tandem locked the account after too many logins."""


class IdTokenRejected(LoginError):
    """The id_token from the Tandem Source login did not verify (signature, issuer, times, claims):
    a failed login (exit code 3), never retried in a loop. Another audience is only a warning."""


class NoData(Exception):
    """The Control:IQ API answered 404: Tandem has no data of this kind for the window (e.g. before
    Control-IQ). Not a failure: the caller reads the same days another way or skips them."""


class WriteFailed(TconnectsyncError):
    """Nightscout failed while a chunk was written (not worth retrying the chunk day by day)."""


class Stopped(Exception):
    """A stop was asked for (SIGTERM): the run ends between two writes, never inside one."""


class RunLocked(TconnectsyncError):
    """Another tconnectsync run for the same Tandem account and Nightscout held the run lock for
    longer than we wait (``TCONNECTSYNC_LOCK_WAIT``)."""

    exit_code = 7


class RunBudgetExceeded(TransientError):
    """The run's time budget (``TCONNECTSYNC_RUN_BUDGET``) is used up, or a host timed out twice
    in this run: nothing more is asked of it until the next run."""
