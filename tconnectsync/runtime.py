"""Builds the clients a sync needs from a Config (one place, used by CLI, daemon and web app):
the backend ``TCONNECT_API`` chooses (``backends.py``) and the Nightscout client, with the
login limiter shared by every process for the account (``api/common.py``) and, when given,
one run budget (``budget.py``) for all of their HTTP clients."""
import time

from . import backends
from .nightscout import NightscoutClient
from .sync.engine import Clients


def build_clients(config, clock=time.time, sleep=time.sleep, limiter=None, attempts=4, backoff=1.0, budget=None):
    from .api.common import LoginLimiter
    from .http import HttpClient
    limiter = limiter or LoginLimiter.for_account(config, clock=clock)
    source = backends.spec(config.api).build(config, clock, sleep, limiter, attempts, backoff)
    ns_http = HttpClient("Nightscout", timeout=(10, config.http_timeout), attempts=attempts, backoff=backoff,
                         sleep=sleep)
    nightscout = NightscoutClient(config.ns_url, config.ns_secret, http=ns_http, batch_size=config.ns_batch_size)
    clients = Clients(source=source, nightscout=nightscout)
    if budget is not None:
        for http in http_clients(clients):
            http.budget = budget
    return clients


def http_clients(clients):
    """Every ``HttpClient`` the clients send through (the backend's API object and Nightscout's)."""
    from .http import HttpClient
    found = []
    for owner in (getattr(clients.source, "api", None), clients.nightscout):
        for value in vars(owner).values() if owner is not None else ():
            if isinstance(value, HttpClient) and value not in found:
                found.append(value)
    return found


def close_clients(clients):
    api = getattr(clients.source, "api", None)
    if api is not None:
        api.close()
    http = getattr(clients.nightscout, "http", None)
    if http is not None:
        http.close()
