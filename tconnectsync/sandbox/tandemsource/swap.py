"""A Tandem Source account whose pump was replaced (e.g. under warranty).

``swapped_pumps(start, swap, end)``: the old pump logged the pump-local days [start, swap - 1],
the new one [swap, end]; adjacent, non-overlapping data ranges, distinct serials and distinct
histories (other seeds). Give the list to ``TandemSourceSandbox(pumps=...)``; the pumper lists
both with their ``availableDataRange``, the new one last active.
"""
import datetime as dt

from ..scenario import make_scenario
from .sandbox import SandboxPump

OLD_SERIAL, NEW_SERIAL = "22222222", "11111111"


def swapped_pumps(start, swap, end, tz_name="America/New_York", old_serial=OLD_SERIAL, new_serial=NEW_SERIAL,
                  cutoff=None, old_model="tslim", new_model="tslim", **kw):
    """[old pump, new pump] as ``SandboxPump``s (see the module doc); ``cutoff``: the new pump's
    last upload (default: the end of ``end``); the old pump's is the end of its last day."""
    if not start < swap <= end:
        raise ValueError("the swap day must be after the first day and not after the last")
    old_last = swap - dt.timedelta(days=1)
    old = make_scenario(start, old_last, tz_name=tz_name, seed=kw.pop("old_seed", 7), serial=old_serial, **kw)
    old.set_cutoff(dt.datetime.fromtimestamp(old.day_bounds(old_last)[1], dt.timezone.utc))
    new = make_scenario(swap, end, tz_name=tz_name, seed=kw.pop("new_seed", 1), serial=new_serial, cutoff=cutoff,
                        **kw)
    return [SandboxPump(old, model=old_model), SandboxPump(new, model=new_model)]
