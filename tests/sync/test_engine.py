"""The comparison at the heart of idempotency: what to create, update, delete or leave alone."""
import datetime as dt

from tconnectsync.sync.engine import equivalent, plan_treatments, split_window

DOC = {"eventType": "Temp Basal", "created_at": "2021-10-20T01:16:17-04:00", "enteredBy": "Pump (tconnectsync)",
       "identifier": "id-1", "duration": 25.0, "absolute": 0.0, "rate": 0.0,
       "reason": "algorithmDelivery (control-iq suspension)"}


def stored(doc, **changes):
    """A document as Nightscout answers it: UTC created_at, utcOffset, null carbs/insulin, an _id."""
    out = dict(doc, created_at="2021-10-20T05:16:17.000Z", utcOffset=-240, carbs=None, insulin=None,
               _id="6b01ffacc4e66efa81b22b%02d" % len(changes))
    out.update(changes)
    return out


def test_new_document_is_created():
    posts, deletes, unchanged = plan_treatments([("BASAL", DOC)], [])
    assert [(a, f) for a, f, _ in posts] == [("create", "BASAL")] and not deletes and not unchanged


def test_stored_copy_is_unchanged():
    posts, deletes, unchanged = plan_treatments([("BASAL", DOC)], [stored(DOC)])
    assert not posts and not deletes and [f for f, _ in unchanged] == ["BASAL"]


def test_grown_record_is_updated_in_place():
    posts, deletes, _ = plan_treatments([("BASAL", dict(DOC, duration=40.0))], [stored(DOC)])
    assert [a for a, _, _ in posts] == ["update"] and not deletes


def test_document_of_an_older_tconnectsync_is_replaced():
    legacy = stored(DOC)
    del legacy["identifier"]
    posts, deletes, _ = plan_treatments([("BASAL", DOC)], [legacy])
    assert [a for a, _, _ in posts] == ["update"] and [d["_id"] for _, d in deletes] == [legacy["_id"]]


def test_duplicates_of_one_record_are_removed():
    a = stored(DOC)
    b = stored(DOC, _id="6b01ffacc4e66efa81b22bff")
    posts, deletes, unchanged = plan_treatments([("BASAL", DOC)], [a, b])
    assert len(deletes) == 1 and [f for f, _ in unchanged] == ["BASAL"] and not posts


def test_moved_record_is_deleted_and_posted():
    moved = stored(DOC, created_at="2021-10-20T05:20:00.000Z")
    posts, deletes, _ = plan_treatments([("BASAL", DOC)], [moved])
    assert [a for a, _, _ in posts] == ["update"] and len(deletes) == 1


def test_equivalent_ignores_what_nightscout_adds_or_drops():
    bolus = {"eventType": "Combo Bolus", "created_at": "2021-10-20T07:44:05-04:00", "identifier": "b",
             "enteredBy": "Pump (tconnectsync)", "insulin": 5.0, "carbs": 0, "notes": "Standard"}
    answer = {"eventType": "Combo Bolus", "created_at": "2021-10-20T11:44:05.000Z", "identifier": "b",
              "enteredBy": "Pump (tconnectsync)", "insulin": 5, "carbs": None, "notes": "Standard",
              "utcOffset": -240, "_id": "6b01ffacc4e66efa81b22b14"}
    assert equivalent(bolus, answer)
    assert not equivalent(dict(bolus, insulin=5.05), answer)
    assert not equivalent(dict(bolus, notes="Standard (Override)"), answer)


def test_split_window():
    d = dt.date
    assert split_window(d(2021, 1, 1), d(2021, 1, 5), 2) == [(d(2021, 1, 1), d(2021, 1, 2)),
                                                             (d(2021, 1, 3), d(2021, 1, 4)),
                                                             (d(2021, 1, 5), d(2021, 1, 5))]
    assert split_window(d(2021, 1, 1), d(2021, 1, 1), 2) == [(d(2021, 1, 1), d(2021, 1, 1))]
