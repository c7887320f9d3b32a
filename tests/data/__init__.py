"""Where the tests' data lives: synthetic wire-format fixtures, committed with their generators.

``TCONNECT`` holds the legacy t:connect fixtures, ``TANDEMSOURCE`` the Tandem Source ones; each
folder's README says what the files are and how to rebuild them. ``EVENTS_JSON`` is the event
catalog the package ships (the Tandem Source generator reads it).
"""
from pathlib import Path

HERE = Path(__file__).resolve().parent
TCONNECT = HERE / "tconnect"
TANDEMSOURCE = HERE / "tandemsource"
EVENTS_JSON = HERE.parents[1] / "tconnectsync" / "parser" / "data" / "tandem-source-events.json"
