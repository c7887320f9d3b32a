"""The registry of Tandem backends: ``TCONNECT_API`` -> what it syncs, how to build it, how to check it.

``TCONNECT_API``'s values ``source`` and ``legacy`` are a user contract; in the code each backend
has one name in every layer: ``tandemsource`` (api/tandemsource, parser/tandemsource,
sync/tandemsource) and ``tconnect`` (the retired t:connect APIs). No other module branches on
the backend's name: it asks this registry.
"""
import dataclasses
import os
from typing import Callable

from .errors import ConfigError

FEATURES = ("BASAL", "BOLUS", "IOB", "PUMP_EVENTS", "PROFILES", "CGM", "CGM_ALERTS")


@dataclasses.dataclass(frozen=True)
class BackendSpec:
    setting: str                  # the TCONNECT_API value that chooses it
    name: str                     # its name in every layer
    remote: str                   # who answered (or failed), as messages name it
    features: tuple               # what it can sync
    default_features: tuple       # what a run syncs without --features
    needs_serial: bool            # PUMP_SERIAL_NUMBER is required (else: the account's newest pump)
    region_hosts: bool            # its hosts depend on TCONNECT_REGION (else: the US t:connect hosts)
    build: Callable               # (config, clock, sleep, limiter, attempts, backoff) -> a sync.backend.Backend
    checks: Callable              # (checker, config, clients, window) -> None: the --check-login steps
    describe: Callable            # config -> "Tandem Source, region US"
    demo: Callable = None         # (scenario, region, email, password) -> a DemoSandbox (for --demo)


@dataclasses.dataclass
class DemoSandbox:
    """A backend's sandbox for ``--demo``: the simulated Tandem hosts (a context manager, not
    started yet), the words that name it, and ``settings(ns_url, ns_secret, tz_name, token_dir)``:
    the Config fields that point a sync at them."""
    sandbox: object
    what: str
    settings: Callable


def _build_tandemsource(config, clock, sleep, limiter, attempts, backoff):
    from .api.tandemsource import TandemSourceApi
    from .sync.tandemsource import TandemSourceBackend
    api = TandemSourceApi(config, clock=clock, sleep=sleep, limiter=limiter, attempts=attempts, backoff=backoff)
    return TandemSourceBackend(api, config, clock=clock)


def _build_tconnect(config, clock, sleep, limiter, attempts, backoff):
    from .api.tconnect import TConnectApi
    from .sync.tconnect import LegacySource
    api = TConnectApi(config, clock=clock, sleep=sleep, limiter=limiter, attempts=attempts, backoff=backoff)
    return LegacySource(api, config.tz, config.pump_serial)


def _checks_tandemsource(c, config, clients, window):
    from .check_steps import tandemsource_checks
    tandemsource_checks(c, config, clients, window)


def _checks_tconnect(c, config, clients, window):
    from .check_steps import tconnect_checks
    tconnect_checks(c, config, clients, window)


def _demo_tandemsource(scenario, region, email, password):
    from .sandbox.tandemsource import TandemSourceSandbox
    sb = TandemSourceSandbox(scenario, region=region, email=email, password=password)

    def settings(ns_url, ns_secret, tz_name, token_dir):
        return dict(email=email, password=password, pump_serial="", ns_url=ns_url, ns_secret=ns_secret,
                    timezone_name=tz_name, api="source", region=region, sso_url=sb.sso_url,
                    services_url=sb.services_url, source_url=sb.source_url,
                    token_file=os.path.join(token_dir, "tokens.json"))
    return DemoSandbox(sb, "a simulated Tandem Source account (%s)" % region, settings)


def _demo_tconnect(scenario, region, email, password):
    from .sandbox.tconnect import TandemLegacySandbox
    sb = TandemLegacySandbox(scenario, email=email, password=password)

    def settings(ns_url, ns_secret, tz_name, token_dir):
        return dict(email=email, password=password, pump_serial=scenario.serial, ns_url=ns_url, ns_secret=ns_secret,
                    api="legacy", timezone_name=tz_name, web_url=sb.web_url, ws2_url=sb.ws2_url, services_url=sb.services_url)
    return DemoSandbox(sb, "a simulated t:connect account", settings)


REGISTRY = {
    "source": BackendSpec("source", "tandemsource", "Tandem Source", FEATURES, ("BASAL", "BOLUS", "IOB", "PUMP_EVENTS"),
                          False, True, _build_tandemsource, _checks_tandemsource,
                          lambda config: "Tandem Source, region %s" % config.region, _demo_tandemsource),
    "legacy": BackendSpec("legacy", "tconnect", "t:connect", ("BASAL", "BOLUS", "IOB", "PUMP_EVENTS"),
                          ("BASAL", "BOLUS", "IOB"), True, False, _build_tconnect, _checks_tconnect,
                          lambda config: "legacy t:connect", _demo_tconnect),
}
APIS = tuple(sorted(REGISTRY))
DEFAULT_API = "source"


def spec(api):
    """The BackendSpec for a TCONNECT_API value; a ConfigError naming the choices for another."""
    found = REGISTRY.get((api or "").strip().lower())
    if found is None:
        raise ConfigError("TCONNECT_API must be one of %s, not %r." % (", ".join(APIS), api))
    return found


def remote_of(backend):
    """Who a backend object is, as messages name it ("" when unknown)."""
    return getattr(backend, "remote", "") or ""
