"""Builds the clients a sync needs from a Config (one place, used by CLI, daemon and web app):
the backend ``TCONNECT_API`` chooses (``backends.py``) and the Nightscout client."""
import time

from . import backends
from .nightscout import NightscoutClient
from .sync.engine import Clients


def build_clients(config, clock=time.time, sleep=time.sleep, limiter=None, attempts=4, backoff=1.0):
    from .http import HttpClient
    source = backends.spec(config.api).build(config, clock, sleep, limiter, attempts, backoff)
    ns_http = HttpClient("Nightscout", timeout=(10, config.http_timeout), attempts=attempts, backoff=backoff,
                         sleep=sleep)
    nightscout = NightscoutClient(config.ns_url, config.ns_secret, http=ns_http, batch_size=config.ns_batch_size)
    return Clients(source=source, nightscout=nightscout)


def close_clients(clients):
    api = getattr(clients.source, "api", None)
    if api is not None:
        api.close()
    http = getattr(clients.nightscout, "http", None)
    if http is not None:
        http.close()
