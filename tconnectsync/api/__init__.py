"""The Tandem API clients, one package per backend: ``tconnect`` (the retired t:connect APIs) and
``tandemsource``. All their HTTP goes through ``tconnectsync.http``; their errors are in
``tconnectsync.errors``.

Kept light on purpose: ``config`` imports the region table from ``api.tandemsource.regions``,
and importing it must not pull in either client.
"""
from ..errors import NoData

__all__ = ["NoData"]        # its old import path, kept while sync/ still imports it from here
