"""Tandem Source (backend ``tandemsource``): ``auth`` (the OIDC login and the token cache),
``client`` (the pumper and the pump-logs) and ``regions`` (the region -> hosts table).

The public names below load their module on first use (PEP 562), so that ``config`` can import
``regions`` without loading the client, ``requests`` and ``jwt``.
"""
import importlib

_EXPORTS = {
    "TandemSourceApi": "client", "SourcePump": "client", "PumpLogs": "client", "DEFAULT_EVENT_CODES": "client",
    "MAX_WINDOW_DAYS": "client", "date_windows": "client",
    "SourceAuth": "auth", "pkce_pair": "auth",
    "REGIONS": "regions", "Region": "regions", "ISSUERS": "regions", "CLIENT_IDS": "regions",
    "SOURCE_HOSTS": "regions",
}
__all__ = sorted(_EXPORTS)


def __getattr__(name):
    if name not in _EXPORTS:
        raise AttributeError("module %r has no attribute %r" % (__name__, name))
    return getattr(importlib.import_module("." + _EXPORTS[name], __name__), name)


def __dir__():
    return sorted(set(globals()) | set(_EXPORTS))
