"""The simulated Tandem Source cloud: ``TandemSourceSandbox``, its pumps and wire facts.

``sandbox`` owns the hosts; ``accounts`` answers sso and tdcservices (sign-in), ``source`` the
data API; ``events`` encodes a scenario as pump-log events; ``wire`` holds ids and error
bodies. ``python -m tconnectsync.sandbox.tandemsource`` serves one until Ctrl-C.
"""
from .events import EVENT_FIELDS, EXTRA_PROPS, PumpEventLog
from .sandbox import SandboxPump, TandemSourceSandbox
from .source import pumper_entry
from .wire import CLIENT_IDS, DEFAULT_ACCOUNT_ID, DEFAULT_PUMPER_ID, HOSTS, ISSUERS, s256

__all__ = ["CLIENT_IDS", "DEFAULT_ACCOUNT_ID", "DEFAULT_PUMPER_ID", "EVENT_FIELDS", "EXTRA_PROPS", "HOSTS", "ISSUERS",
           "PumpEventLog", "SandboxPump", "TandemSourceSandbox", "pumper_entry", "s256"]
