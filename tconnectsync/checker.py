"""The ``--check-login`` checker: one line per check, pass, fail (with the reason) or skipped
when a check it needs did not pass; no secrets shown."""
from . import logs
from .errors import NoData, TconnectsyncError


SKIPPED_LOGIN = "skipped: login failed"


class Checker:
    def __init__(self, out):
        self.out = out
        self.failed = 0
        self.passed = set()

    def info(self, text):
        print("  info  %s" % logs.redact(text), file=self.out)

    def check(self, name, fn, needs=(), skipped=SKIPPED_LOGIN):
        """Run check ``fn`` (it returns a detail or raises); when a check named in ``needs``
        did not pass, say ``skipped`` instead of running it (no cascade of failures)."""
        if any(n not in self.passed for n in needs):
            print("  skip  %s: %s" % (name, skipped), file=self.out)
            return None
        try:
            detail = fn()
        except NoData:
            detail = None
            self.failed += 1
            print("  FAIL  %s: Tandem has no data for this window (HTTP 404)" % name, file=self.out)
            return None
        except TconnectsyncError as exc:
            self.failed += 1
            print("  FAIL  %s: %s" % (name, logs.redact(str(exc))), file=self.out)
            return None
        except Exception as exc:  # noqa: BLE001
            self.failed += 1
            print("  FAIL  %s: unexpected %s: %s" % (name, type(exc).__name__, logs.redact(str(exc))), file=self.out)
            return None
        self.passed.add(name)
        print("  ok    %s%s" % (name, (": " + logs.redact(detail)) if detail else ""), file=self.out)
        return True
