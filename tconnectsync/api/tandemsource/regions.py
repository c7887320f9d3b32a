"""Tandem Source's regions: every host, issuer and OIDC client id, in this one table (data only,
so that ``config`` can import it without loading a client).

The hosts are defaults (settings can point them at a test server or a proxy); the issuer and the
client id are Tandem's real values and are always what the id_token is checked against.
"""
import dataclasses


@dataclasses.dataclass(frozen=True)
class Region:
    name: str
    sso_url: str          # the SSO landing page
    services_url: str     # tdcservices: login, authorize, token, JWKS
    source_url: str       # the Source web app and its data API
    issuer: str           # the id_token's "iss"
    client_id: str        # the OIDC client (the id_token's "aud")
    redirect_on: str      # the host of the OIDC redirect URI: "sso" or "source" (its configured URL)
    redirect_path: str    # the redirect URI's path on that host


REGIONS = {
    "US": Region("US", "https://sso.tandemdiabetes.com/", "https://tdcservices.tandemdiabetes.com/",
                 "https://source.tandemdiabetes.com/", "https://tdcservices.tandemdiabetes.com/accounts/api",
                 "0oa4wnbvtladeyVZX4h7", "sso", "auth/callback"),
    "EU": Region("EU", "https://sso.tandemdiabetes.com/", "https://tdcservices.eu.tandemdiabetes.com/",
                 "https://source.eu.tandemdiabetes.com/", "https://tdcservices.eu.tandemdiabetes.com/accounts/api",
                 "1519e414-eeec-492e-8c5e-97bea4815a10", "source", "authorize/callback"),
}

# Views of the table in the shapes callers use.
ISSUERS = {name: r.issuer for name, r in REGIONS.items()}
CLIENT_IDS = {name: r.client_id for name, r in REGIONS.items()}
SOURCE_HOSTS = {name: (r.sso_url, r.services_url, r.source_url) for name, r in REGIONS.items()}
