"""The engine's writes beyond plain treatment upserts: spanning records, CGM entries, profiles.

A backend hands these over as data in its ``ChunkResult`` (``spanning``, ``entries``,
``profiles``); the engine runs them here, reading what Nightscout holds through the client's
public methods and writing through them or through ``Engine.apply_treatments``. No backend
writes, and nothing here is backend-specific.
"""
import bisect
import datetime as dt
import hashlib
import json
import logging

from .. import timeutil
from ..parser.records import ParseWarning
from .documents import ENTERED_BY
from .profiles import PROFILE_HISTORY, PROFILE_MODE_SETTING, profile_mode, same_profiles
from .spanning import LOOKBACK, find, resolve

logger = logging.getLogger(__name__)

UTC = dt.timezone.utc
SAME_READING_MS = 30 * 1000                # an existing sgv this close is the same reading


def spanning(engine, items, summary):
    """Each ``spanning.Spanning`` finds its stored document by its key and merges by its rule;
    the results are upserted like any treatment (see ``Spanning`` for the accounting)."""
    ns = engine.clients.nightscout
    lo = min(p.time for p in items) - LOOKBACK
    hi = max(p.time for p in items) + dt.timedelta(seconds=1)
    stored = ns.treatments(lo, hi)
    desired, uncounted, groups = [], set(), {}
    for p in items:
        groups.setdefault(id(p) if p.group is None else p.group, []).append(p)
    for members in groups.values():
        counted = any(p.counted for p in members)
        found, wrote, outcome = False, False, "unchanged"
        for p in members:
            match = find(p.key, stored)
            found = found or match is not None
            doc, outcome = resolve(p, match)
            if doc is None:
                continue
            if wrote or not counted:
                uncounted.add(doc["identifier"])
            wrote = True
            desired.append((p.feature, doc))
        if counted and not wrote:
            missing = next((p.missing for p in members if p.missing is not None), None)
            if missing is not None and not found:
                summary.skip(members[0].feature, missing)
            elif outcome == "merged":
                summary.feature(members[0].feature).merged += 1        # folded into a stored document
            else:
                summary.feature(members[0].feature).unchanged += 1     # Nightscout already says it
    engine.apply_treatments(desired, summary, uncounted=uncounted)


def _entry_ms(entry):
    value = entry.get("date")
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return float(value)
    for key in ("sysTime", "dateString"):
        if isinstance(entry.get(key), str):
            try:
                return timeutil.parse_iso_utc(entry[key]).timestamp() * 1000
            except ValueError:
                pass
    return None


def new_entries(entries, existing):
    """``entries`` without those Nightscout already holds (a sgv within SAME_READING_MS)."""
    have = sorted(ms for ms in (_entry_ms(e) for e in existing) if ms is not None)
    out = []
    for e in entries:
        i = bisect.bisect_left(have, e["date"] - SAME_READING_MS)
        if i < len(have) and have[i] <= e["date"] + SAME_READING_MS:
            continue
        out.append(e)
    return out


def entries(engine, docs, summary):
    """CGM readings as ``entries`` (sgv), without those Nightscout already holds (ours or another
    uploader's, within SAME_READING_MS)."""
    counts = summary.feature("CGM")
    ns = engine.clients.nightscout
    existing = ns.entries(min(e["date"] for e in docs) - SAME_READING_MS, max(e["date"] for e in docs) + SAME_READING_MS)
    fresh = new_entries(docs, existing)
    counts.unchanged += len(docs) - len(fresh)
    if not fresh:
        return
    if engine.pretend:
        summary.plan += [("create", "CGM", e) for e in fresh]
    else:
        ns.upload_entries(fresh)
    counts.created += len(fresh)


def _profile_key(serial, reference, store, default):
    """24 hex digits (a valid Nightscout _id) from the pump, the document this one follows and its content."""
    material = json.dumps([str(serial), (reference or {}).get("_id") or "", default, store], sort_keys=True,
                          default=str)
    return hashlib.sha256(material.encode("utf-8")).hexdigest()[:24]


def profiles(engine, build, summary):
    """The pump's profiles, once per run (the settings are the same for every chunk); see
    ``profiles_plan`` for NIGHTSCOUT_PROFILE_UPLOAD_MODE."""
    if "PROFILES" in summary.done:
        return
    summary.done.add("PROFILES")
    counts = summary.feature("PROFILES")
    counts.fetched += build.fetched
    for skip in build.skipped:
        summary.skip("PROFILES", skip)
    # Logged and counted with the chunk's warnings (a repaired profile is still uploaded).
    summary.warnings += [ParseWarning("Tandem Source pump settings", "profiles", note) for note in build.notes]
    store, default = build.store, build.default
    if store is None:
        return
    chosen = profile_mode(build.mode or getattr(engine.config, "profile_upload_mode", None))
    counts.merged += len(store) - 1         # one document holds every profile
    ns = engine.clients.nightscout
    current = ns.current_profile()
    history = ns.profiles(PROFILE_HISTORY)
    ours = next((d for d in history if d.get("enteredBy") == ENTERED_BY), None)
    if current is not None and current.get("enteredBy") == ENTERED_BY:
        ours = current
    reference = ours or current
    if reference is not None and same_profiles(reference, store, default):
        counts.unchanged += 1
        return
    merged = dict(current["store"]) if current else {}
    merged.update(store)
    now = timeutil.iso_utc(build.now or dt.datetime.now(UTC))
    in_place = current is not None and (chosen == "overwrite"
                                        or (chosen == "replace" and current.get("enteredBy") == ENTERED_BY))
    if chosen == "replace" and current is not None and not in_place:
        logger.info("Nightscout's current profile was not created by tconnectsync: adding a new profile "
                    "document instead of replacing it (%s=overwrite replaces it)", PROFILE_MODE_SETTING)
    if in_place:
        doc = {k: v for k, v in current.items() if k not in ("mills",)}
        doc.update(store=merged, defaultProfile=default, enteredBy=ENTERED_BY)
    else:
        # A new document gets a deterministic _id and identifier (the profiles and the document
        # they follow): checked just before writing, and written with PUT, an upsert by _id, so
        # runs that overlap (even on two machines) leave one document, not one each.
        key = _profile_key(engine.serial, reference, merged, default)
        doc = {"_id": key, "identifier": key, "defaultProfile": default, "store": merged, "startDate": now,
               "created_at": now, "units": "mg/dl", "enteredBy": ENTERED_BY}
        if not engine.pretend and any(d.get("identifier") == key or d.get("_id") == key
                                      for d in ns.profiles(PROFILE_HISTORY)):
            counts.unchanged += 1           # another run wrote this very document a moment ago
            return
    if engine.pretend:
        summary.plan.append(("update" if in_place else "create", "PROFILES", doc))
    elif in_place:
        ns.update_profile(doc, "replacing the profile (active: %s)" % default)
    else:
        ns.update_profile(doc, "adding the profile (active: %s)" % default)
    if in_place:
        counts.updated += 1
    else:
        counts.created += 1
