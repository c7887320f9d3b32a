"""A fake Nightscout: an HTTP server on 127.0.0.1 that answers like a real one.

Used by the tests, the demo and the benchmarks. It follows the parts of the ``/api/v1`` REST
API an uploader uses (see ``docs/nightscout.md``) for two flavours:

* ``"0.12.8"`` — the npm release, also what 14.x and 15.0.0–15.0.6 do for an uploader:
  treatments are upserted on (normalised ``created_at``, ``eventType``), ``verifyauth`` answers
  ``{"status":200,"message":"OK"}``, deletes answer the MongoDB 3.x driver's result, an
  unparseable date in a query is an HTTP 500 page, only the lower-case SHA-1 is accepted.
* ``"15.0.7"`` — the current release: the upsert key is ``identifier`` > 24-hex ``_id`` >
  (``created_at``, ``eventType``), ``verifyauth`` answers the detailed object, an unparseable
  date answers ``null``, the SHA-1 in any case or the SHA-512 is accepted, default ``count``
  limits apply, strings holding ``<`` are sanitised.

Everything lives in memory. Tests can look at ``treatments()``, ``activity()``, ``entries()``,
``request_log`` and ``request_count``, and inject faults: ``latency``, ``fail_next()``,
``fail_when()``, ``down``.

    with FakeNightscout(api_secret="a-long-secret!", flavor="15.0.7") as ns:
        client = NightscoutClient(ns.url, "a-long-secret!")

``python -m tconnectsync.sandbox.nightscout --port 0 --secret X --flavor 15.0.7`` serves one
until Ctrl-C.

Modules: ``store`` (``FakeNightscout``: state, collections, flavour rules), ``handler`` (HTTP
routes, auth, limits), ``query`` (``find[...]``, sorting, sanitising), ``values`` (JavaScript-ish
values, dates, query strings), ``pages`` (error answers).
"""
from .store import FakeNightscout
from .values import FLAVORS, js_number, parse_date, parse_qs
from .query import purify

__all__ = ["FLAVORS", "FakeNightscout", "js_number", "parse_date", "parse_qs", "purify"]
