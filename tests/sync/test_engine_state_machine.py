"""A hypothesis state machine over the sync engine and the fake Nightscout (issue 9).

Pump records appear, a running temp basal grows and ends, Nightscout loses a document, and a
sync runs over any window of pump-local days in chunks of any size. The machine keeps a model:
the pump's records, and what Nightscout should hold after the syncs so far. After every sync:

* Nightscout holds exactly one document per identifier, and exactly what the model says: every
  record of the synced window with its current fields (a lost one is back), every other record as
  the last sync that covered it left it, nothing else;
* a record that grew or ended is updated in place (same ``_id``, no second document);
* the run's counts say what happened (created, updated, already there, nothing deleted);
* the same sync again writes nothing (no POST, PUT or DELETE reaches Nightscout);
* a one-piece sync of the same window into an empty Nightscout leaves the same documents.

The engine's input is a small backend implementing the ``Backend`` Protocol over the model (the
engine's boundary, not a stub of anything private); its output goes through the real
``NightscoutClient`` over HTTP to ``FakeNightscout`` on 127.0.0.1, in both server flavours.
"""
import dataclasses
import datetime as dt

from hypothesis import HealthCheck, event, settings, strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, rule

from tconnectsync import timeutil
from tconnectsync.config import Config
from tconnectsync.nightscout import ENTERED_BY, NightscoutClient
from tconnectsync.sandbox.nightscout import FakeNightscout
from tconnectsync.sync.backend import Backend, ChunkResult
from tconnectsync.sync.engine import Clients, sync_once

SECRET = "state-machine-nightscout-secret"
TZ_NAME = "America/New_York"
TZ = timeutil.get_zone(TZ_NAME)
FIRST = dt.date(2026, 3, 7)         # four pump-local days across the switch to daylight time (March 8)
DAYS = 4
FEATURES = ("BASAL", "BOLUS")
SERIAL = "90000009"
WRITES = ("POST", "PUT", "DELETE")
SERVER_FIELDS = ("_id", "srvModified", "srvCreated")
# Nightscout removes these from a treatment when they are 0 or empty (docs/nightscout.md §5.2):
# a 0 U bolus is stored without ``insulin``, and reads back as missing (or null).
DROPPED_WHEN_EMPTY = ("insulin", "notes")


@dataclasses.dataclass
class Record:
    """One pump record as the pump reports it now."""
    ident: str
    feature: str                # "BASAL" (a temp basal: grows while running) or "BOLUS"
    start: dt.datetime          # aware UTC
    amount: float               # U/h for a basal, U for a bolus
    duration: float = 0.0       # minutes (basal)
    running: bool = False

    @property
    def day(self):
        return self.start.astimezone(TZ).date()

    @property
    def event_type(self):
        return "Temp Basal" if self.feature == "BASAL" else "Combo Bolus"

    def fields(self):
        """What Nightscout must hold for this record (besides created_at and what it adds)."""
        out = {"eventType": self.event_type, "identifier": self.ident, "enteredBy": ENTERED_BY}
        if self.feature == "BASAL":
            out.update(duration=self.duration, absolute=self.amount, rate=self.amount,
                       reason="running" if self.running else "ended")
        else:
            out.update(insulin=self.amount, notes="Standard")
        return out

    def document(self):
        return dict(self.fields(), created_at=self.start.astimezone(TZ).isoformat(timespec="seconds"))


class ModelBackend:
    """A Tandem backend over the machine's records: each chunk hands over the records that start
    in its pump-local days, as a real backend's ChunkResult would."""

    name = "model"
    remote = "the model pump"
    api = None
    iob_with_every_chunk = False

    def __init__(self, records, chunk_days):
        self.records = records
        self.chunk_days = chunk_days
        self.chunks = []

    @property
    def serial(self):
        return SERIAL

    def chunk(self, start, end, features, want_iob=False, window_end=None):
        self.chunks.append((start, end))
        result = ChunkResult()
        for r in sorted(self.records.values(), key=lambda r: (r.start, r.ident)):
            if start <= r.day <= end and r.feature in features:
                result.treatments.append((r.feature, r.document()))
                result.fetched[r.feature] = result.fetched.get(r.feature, 0) + 1
        return result

    def poll(self):
        return len(self.records)


def clean(doc):
    """A stored document without what the server adds, created_at as an instant."""
    out = {k: v for k, v in doc.items() if k not in SERVER_FIELDS}
    out["created_at"] = timeutil.parse_iso_utc(out["created_at"])
    return out


def by_identifier(docs):
    out = {}
    for doc in docs:
        out.setdefault(doc.get("identifier"), []).append(doc)
    return out


class EngineMachine(RuleBasedStateMachine):
    FLAVOR = "15.0.7"

    def __init__(self):
        super().__init__()
        self.ns = FakeNightscout(api_secret=SECRET, flavor=self.FLAVOR).start()
        self.fresh = FakeNightscout(api_secret=SECRET, flavor=self.FLAVOR).start()
        self.client = NightscoutClient(self.ns.url, SECRET, timeout=(5, 20))
        self.fresh_client = NightscoutClient(self.fresh.url, SECRET, timeout=(5, 20))
        self.records = {}           # identifier -> Record: the pump now
        self.expected = {}          # identifier -> (fields, start): what Nightscout should hold
        self.ids = {}               # identifier -> _id of its document since it was written
        self.serial = 0
        self.syncs = 0
        self.lost = set()           # identifiers whose document Nightscout lost, not yet synced again

    def teardown(self):
        event("syncs in this run: %d" % self.syncs)
        self.client.http.close()
        self.fresh_client.http.close()
        self.ns.stop()
        self.fresh.stop()

    def config(self, chunk_days):
        return Config(email="machine@example.com", password="machine-password", pump_serial=SERIAL,
                      ns_url=self.ns.url, ns_secret=SECRET, timezone_name=TZ_NAME, chunk_days=chunk_days,
                      http_timeout=10.0)

    def run_sync(self, client, window, chunk_days):
        backend = ModelBackend(self.records, chunk_days)
        assert isinstance(backend, Backend)
        summary = sync_once(self.config(chunk_days), Clients(backend, client), window, FEATURES)
        assert summary.ok, summary.failures
        days = (window[1] - window[0]).days + 1
        assert len(backend.chunks) == -(-days // chunk_days)
        return summary

    def writes(self, fake):
        return sum(1 for method, _ in fake.request_log if method in WRITES)

    # ------------------------------------------------------------------ the pump
    record = st.fixed_dictionaries(dict(
        feature=st.sampled_from(FEATURES), day=st.integers(0, DAYS - 1), second=st.integers(0, 23 * 3600 - 1),
        amount=st.integers(0, 600), running=st.booleans(), duration=st.integers(1, 600)))

    @initialize(basal=record.map(lambda v: dict(v, feature="BASAL", running=True)),
                others=st.lists(record, max_size=5), chunk_days=st.integers(1, DAYS))
    def a_pump_with_some_records_synced(self, basal, others, chunk_days):
        """A running basal and a few other records, all synced: there is something to grow and lose."""
        assert self.ns.treatments() == [] and self.fresh.treatments() == []
        for values in [basal] + others:
            self.a_record_appears(**values)
        self.sync_a_window(0, DAYS, chunk_days)

    @rule(values=record)
    def a_new_record(self, values):
        self.a_record_appears(**values)

    def a_record_appears(self, feature, day, second, amount, running, duration):
        # Any second of a pump-local day (23 hours: the shortest day); a record may arrive late.
        start = timeutil.day_bounds_utc(FIRST + dt.timedelta(days=day), TZ)[0] + dt.timedelta(seconds=second)
        event = "Temp Basal" if feature == "BASAL" else "Combo Bolus"
        if any(r.start == start and r.event_type == event for r in self.records.values()):
            return      # a pump logs one record of a type per second
        self.serial += 1
        ident = "machine-record-%d" % self.serial
        if feature == "BASAL":
            rec = Record(ident, feature, start, amount / 100.0, duration=duration / 4.0 if not running else 0.0,
                         running=running)
        else:
            rec = Record(ident, feature, start, amount / 20.0)
        self.records[ident] = rec

    def running(self):
        return sorted(i for i, r in self.records.items() if r.running)

    @rule(pick=st.integers(0, 10 ** 6), minutes=st.integers(1, 240))
    def a_running_basal_grows(self, pick, minutes):
        if not self.running():
            return
        rec = self.records[self.running()[pick % len(self.running())]]
        rec.duration = round(rec.duration + minutes / 4.0, 2)

    @rule(pick=st.integers(0, 10 ** 6), minutes=st.integers(0, 60))
    def a_running_basal_ends(self, pick, minutes):
        if not self.running():
            return
        rec = self.records[self.running()[pick % len(self.running())]]
        rec.duration = round(rec.duration + minutes / 4.0, 2)
        rec.running = False

    # ------------------------------------------------------------------ Nightscout
    @rule(pick=st.integers(0, 10 ** 6))
    def nightscout_loses_a_document(self, pick):
        docs = self.ns.treatments()
        if not docs:
            return
        doc = docs[pick % len(docs)]
        self.client.delete_treatment(doc["_id"])
        del self.expected[doc["identifier"]]
        del self.ids[doc["identifier"]]
        self.lost.add(doc["identifier"])
        assert doc["identifier"] not in by_identifier(self.ns.treatments())

    # ------------------------------------------------------------------ the sync
    @rule(first=st.integers(0, DAYS - 1), length=st.integers(1, DAYS), chunk_days=st.integers(1, DAYS))
    def sync_a_window(self, first, length, chunk_days):
        start = FIRST + dt.timedelta(days=first)
        end = min(FIRST + dt.timedelta(days=DAYS - 1), start + dt.timedelta(days=length - 1))
        window = (start, end)
        inside = {i: r for i, r in self.records.items() if start <= r.day <= end}

        want = {f: dict(fetched=0, created=0, updated=0, unchanged=0, deleted=0) for f in FEATURES}
        for ident, rec in inside.items():
            counts = want[rec.feature]
            counts["fetched"] += 1
            if ident not in self.expected:
                counts["created"] += 1
            elif self.expected[ident] != (rec.fields(), rec.start):
                counts["updated"] += 1
            else:
                counts["unchanged"] += 1

        summary = self.run_sync(self.client, window, chunk_days)
        for ident, rec in inside.items():
            self.expected[ident] = (rec.fields(), rec.start)
        got = {f: {k: c[k] for k in want[f]} for f, c in summary.totals().items()}
        assert got == want
        # What the run covered (hypothesis --hypothesis-show-statistics tallies these).
        if any(c["updated"] for c in want.values()):
            event("a record that changed is updated")
        if self.lost & set(inside):
            event("a lost document is back")
            self.lost -= set(inside)
        if chunk_days < (end - start).days + 1:
            event("the window is synced in several chunks")
        self.syncs += 1

        stored = self.check_nightscout()
        for ident in inside:
            if ident in self.ids:
                # Grown, ended or unchanged: the same document, updated in place.
                assert stored[ident]["_id"] == self.ids[ident], ident
            self.ids[ident] = stored[ident]["_id"]

        # The same sync again finds everything there and writes nothing.
        before = self.writes(self.ns)
        again = self.run_sync(self.client, window, chunk_days)
        assert self.writes(self.ns) == before, "a re-run wrote to Nightscout"
        for f, c in again.totals().items():
            assert (c["created"], c["updated"], c["deleted"]) == (0, 0, 0), (f, c)
            assert c["unchanged"] == want[f]["fetched"], (f, c)
        assert {i: d[0]["_id"] for i, d in by_identifier(self.ns.treatments()).items()} == self.ids

        # Chunking changes nothing: one piece into an empty Nightscout leaves the same documents.
        self.fresh.clear()
        self.run_sync(self.fresh_client, window, (end - start).days + 1)
        whole = {i: clean(d[0]) for i, d in by_identifier(self.fresh.treatments()).items()}
        assert set(whole) == set(inside)
        assert whole == {i: clean(stored[i]) for i in inside}

    @rule(length=st.integers(1, 2), chunk_days=st.integers(1, 2))
    def sync_the_last_days(self, length, chunk_days):
        """What the cron job does: the last day or two, where running records grow and end."""
        self.sync_a_window(DAYS - length, length, chunk_days)

    def check_nightscout(self):
        """Nightscout holds exactly the model's documents, one per identifier; returns them."""
        grouped = by_identifier(self.ns.treatments())
        assert None not in grouped, "a document without identifier"
        doubled = {i: len(d) for i, d in grouped.items() if len(d) != 1}
        assert not doubled, "more than one document for %s" % doubled
        stored = {i: d[0] for i, d in grouped.items()}
        assert set(stored) == set(self.expected)
        for ident, (fields, start) in self.expected.items():
            doc = clean(stored[ident])
            assert doc["created_at"] == start, ident
            held = {k: doc.get(k) for k in fields}
            assert held == {k: (None if k in DROPPED_WHEN_EMPTY and not v else v) for k, v in fields.items()}, ident
        return stored

    @invariant()
    def one_document_per_identifier(self):
        idents = [d.get("identifier") for d in self.ns.treatments()]
        assert len(idents) == len(set(idents))


class EngineMachine0128(EngineMachine):
    FLAVOR = "0.12.8"


MACHINE_SETTINGS = settings(max_examples=25, stateful_step_count=15, deadline=None,
                            suppress_health_check=[HealthCheck.too_slow])

TestEngineStateMachine = EngineMachine.TestCase
TestEngineStateMachine.settings = MACHINE_SETTINGS
TestEngineStateMachineNightscout0128 = EngineMachine0128.TestCase
TestEngineStateMachineNightscout0128.settings = MACHINE_SETTINGS
