"""The one interface between the engine and a Tandem backend, and the plain data it hands over.

The engine imports only this: ``Backend`` (a typed Protocol) and ``ChunkResult``. The two
backends are ``sync/tconnect.py`` (the retired t:connect APIs) and ``sync/tandemsource.py``;
the registry that builds them from a Config is ``tconnectsync/backends.py``.
"""
import dataclasses
import datetime as dt
from typing import Optional, Protocol, Sequence, runtime_checkable


@dataclasses.dataclass
class ChunkResult:
    """What a backend hands the engine for one chunk of pump-local days: data only.

    Every record the backend read is accounted for per feature: a document (``treatments``,
    ``entries``, a ``spanning`` merge, the ``profiles`` build), ``merged`` into another's
    document, ``skipped`` with a reason, or a warning. The engine plans and writes."""
    treatments: list = dataclasses.field(default_factory=list)        # (feature, document)
    spanning: list = dataclasses.field(default_factory=list)          # spanning.Spanning: merged with what is stored
    iob: object = None                                                # the newest IobValue, if asked
    fetched: dict = dataclasses.field(default_factory=dict)           # feature -> records read
    skipped: dict = dataclasses.field(default_factory=dict)           # feature -> [skips.Skip] (not errors)
    merged: dict = dataclasses.field(default_factory=dict)            # feature -> records folded into another's document
    warnings: list = dataclasses.field(default_factory=list)          # ParseWarning, no feature
    warnings_by_feature: dict = dataclasses.field(default_factory=dict)   # feature -> [ParseWarning]
    entries: list = dataclasses.field(default_factory=list)           # CGM entries (sgv documents)
    profiles: object = None                                           # profiles.ProfileBuild, if PROFILES
    ignored: dict = dataclasses.field(default_factory=dict)           # event code -> events of kinds nobody decodes
    open_at_end: bool = False                                         # a record it decides ends where its data ends

    def all_warnings(self):
        out = list(self.warnings)
        for warnings in self.warnings_by_feature.values():
            out += warnings
        return out


@runtime_checkable
class Backend(Protocol):
    """A Tandem backend as the engine, the daemon and --check-login see it."""

    name: str               # "tconnect" or "tandemsource": one name in every layer
    remote: str             # who to blame in messages: "t:connect", "Tandem Source"
    chunk_days: Optional[int]   # the days one chunk spans (None: the config's)
    api: object             # its API client (closed by runtime.close_clients)
    iob_with_every_chunk: bool  # True: each chunk's newest IOB comes free (the engine keeps the newest)

    @property
    def serial(self) -> str: ...

    def chunk(self, start: dt.date, end: dt.date, features: Sequence[str], want_iob: bool = False,
              window_end: Optional[dt.date] = None) -> ChunkResult:
        """The records of pump-local days [start, end] of a window ending ``window_end``: those
        starting in those days decided, with what the days around them tell (see the backends)."""

    def poll(self) -> object:
        """A cheap marker that changes when the pump uploaded something new."""
