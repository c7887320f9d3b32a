"""The simulated Tandem legacy cloud (t:connect): ``TandemLegacySandbox`` and its wire facts.

``sandbox`` owns the hosts; ``web``, ``services`` and ``ws2`` answer one host each; ``render``
encodes the scenario; ``wire`` holds ids, pages and error bodies. ``python -m
tconnectsync.sandbox.tconnect`` serves one until Ctrl-C.
"""
from .sandbox import TandemLegacySandbox
from .wire import (ANDROID_CLIENT_ID, ANDROID_CLIENT_SECRET, DEFAULT_USER_GUID, EMAIL_FIELD, HOSTS, PASSWORD_FIELD,
                   TOKEN_EXPIRED, request_window)

__all__ = ["ANDROID_CLIENT_ID", "ANDROID_CLIENT_SECRET", "DEFAULT_USER_GUID", "EMAIL_FIELD", "HOSTS", "PASSWORD_FIELD",
           "TOKEN_EXPIRED", "TandemLegacySandbox", "request_window"]
