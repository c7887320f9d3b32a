"""The Tandem API clients, one package per backend: ``tconnect`` (the retired t:connect APIs) and
``tandemsource``. All their HTTP goes through ``tconnectsync.http``; their errors are in
``tconnectsync.errors``.

Kept light on purpose: ``config`` imports the region table from ``api.tandemsource.regions``,
and importing it must not pull in either client.
"""
from ..errors import NoData  # noqa: F401  (the old import path; sync/ moves to errors.NoData)
