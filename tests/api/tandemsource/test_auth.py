"""The Tandem Source login (api/tandemsource/auth.py) against the simulated Tandem Source cloud
(real HTTP on 127.0.0.1): OIDC with PKCE, the id_token check, the limiter, the token cache and
"log in again once on a 401"."""
import json
import os
import stat

import pytest

from tconnectsync.api.common import LoginLimiter
from tconnectsync.api.tandemsource import CLIENT_IDS, ISSUERS, TandemSourceApi
from tconnectsync.errors import (AccountLocked, BadCredentials, IdTokenRejected, LoginError, LoginThrottled,
                                 TandemError, TransientError)
from tconnectsync.sandbox.tandemsource import DEFAULT_PUMPER_ID
from .helpers import EMAIL, NOW, PASSWORD, Clock, by_path, client, config


# ---------------------------------------------------------------------------- login

@pytest.mark.parametrize("region", ["US", "EU"])
def test_login_follows_the_base_url_overrides_while_the_issuer_stays_real(sandbox, tmp_path, region):
    sb = sandbox(region=region)
    api = client(sb, tmp_path)
    body = api.pumper()
    assert [p["serialNumber"] for p in body["pumps"]] == ["11111111"]
    log = sb.request_log
    assert [(r.host, r.method, r.path.split("?")[0]) for r in log] == [
        ("sso", "GET", "/"),
        ("services", "POST", "/accounts/api/login"),
        ("services", "GET", "/accounts/api/connect/authorize"),
        ("sso" if region == "US" else "source", "GET", "/auth/callback" if region == "US" else "/authorize/callback"),
        ("services", "POST", "/accounts/api/connect/token"),
        ("services", "GET", "/accounts/api/.well-known/openid-configuration/jwks"),
        ("source", "GET", "/api/reports/bff/pumper/" + DEFAULT_PUMPER_ID)]
    assert log[1].headers["Referer"] == sb.sso_url and log[1].headers["Content-Type"] == "application/json"
    auth = log[2].query
    expected_redirect = sb.sso_url + "auth/callback" if region == "US" else sb.source_url + "authorize/callback"
    assert auth["redirect_uri"] == expected_redirect == api.redirect_uri
    assert auth["client_id"] == CLIENT_IDS[region] and auth["scope"] == "openid profile email"
    assert auth["code_challenge_method"] == "S256" and len(auth["code_challenge"]) == 43
    assert "state" not in auth and "nonce" not in auth
    assert log[2].headers["Referer"] == sb.sso_url
    assert log[6].headers == {"Origin": sb.source_origin, "Referer": sb.source_url, "Authorization": "Bearer ***"}
    assert sb.source_origin == sb.source_url.rstrip("/")
    assert api.id_claims["iss"] == ISSUERS[region] and api.id_claims["aud"] == CLIENT_IDS[region]
    assert api.pumper_id == DEFAULT_PUMPER_ID and api.account_id == sb.account_id
    assert sb.login_attempts == 1


def test_wrong_password_is_one_attempt_never_retried(sandbox, tmp_path):
    sb = sandbox()
    limiter = LoginLimiter(clock=sb.clock)
    api = TandemSourceApi(config(sb, tmp_path, password="wrong"), clock=sb.clock, sleep=lambda s: None,
                          limiter=limiter)
    with pytest.raises(BadCredentials) as info:
        api.pumper()
    assert "TCONNECT_PASSWORD" in str(info.value) and "wrong" not in str(info.value)
    with pytest.raises(BadCredentials):
        api.pumper()
    again = TandemSourceApi(config(sb, tmp_path, password="wrong"), clock=sb.clock, limiter=limiter)
    with pytest.raises(BadCredentials):
        again.pumper()
    assert sb.login_attempts == 1 and limiter.total == 1
    assert sb.request_counts == {"sso": 1, "services": 1, "source": 0}
    assert not os.path.exists(api.config.token_file)


def test_lockout_is_account_locked(sandbox, tmp_path):
    sb = sandbox()
    sb.max_failed_logins = 0
    with pytest.raises(BadCredentials):
        client(sb, tmp_path, password="wrong").pumper()
    with pytest.raises(AccountLocked):
        client(sb, tmp_path).pumper()
    assert sb.login_attempts == 2


@pytest.mark.parametrize("status, body, error", [
    (403, None, TandemError),                                                    # the firewall page
    (400, '{"message":"Max attempted logins exceeded."}', AccountLocked),
    (200, '{"redirectUrl":null,"status":"FAILED"}', BadCredentials),
    (502, None, TransientError),                            # transient: sent again, at most 4 times
    (200, "<html><body>Down for maintenance</body></html>", TandemError),   # a page: no verdict on the password
])
def test_login_answers(sandbox, tmp_path, status, body, error):
    sb = sandbox()
    sb.fail_when(lambda host, method, path, query: (status, None, body) if path.endswith("/login") else None)
    with pytest.raises(error) as info:
        client(sb, tmp_path).pumper()
    assert type(info.value) is error or error is TransientError
    assert len(by_path(sb, "/accounts/api/login")) == (4 if status == 502 else 1)


def test_every_credential_post_goes_through_the_limiter(sandbox, tmp_path):
    sb = sandbox()
    limiter = LoginLimiter(per_hour=1, clock=sb.clock)
    api = TandemSourceApi(config(sb, tmp_path, token_file=""), clock=sb.clock, limiter=limiter)
    api.pumper()
    sb.expire_tokens()
    with pytest.raises(LoginThrottled):
        api.pumper()
    assert sb.login_attempts == 1


@pytest.mark.parametrize("forge, says", [
    ({"wrong_key": True}, "signature does not match"),
    ({"iss": "https://evil.example/accounts/api"}, "issued by someone else"),
    ({"exp": int(NOW) - 3600}, "computer's clock"),
    ({"pumperId": None}, "no pumperId claim"),
])
def test_forged_id_tokens_are_a_login_failure_never_retried(sandbox, tmp_path, forge, says):
    sb = sandbox()
    sb.forge_id_tokens(**forge)
    limiter = LoginLimiter(clock=sb.clock)
    api = TandemSourceApi(config(sb, tmp_path), clock=sb.clock, sleep=lambda s: None, limiter=limiter)
    with pytest.raises(IdTokenRejected) as info:
        api.pumper()
    assert isinstance(info.value, LoginError) and info.value.exit_code == 3
    assert says in str(info.value) and str(info.value).count(". ") == 0 and PASSWORD not in str(info.value)
    assert api.access_token is None
    with pytest.raises(IdTokenRejected):
        api.pumper()                                    # refused again without a second login
    assert sb.login_attempts == 1 and limiter.total == 1
    assert not os.path.exists(api.config.token_file)
    assert sb.request_counts["source"] == 0
    sb.forge_id_tokens()
    client(sb, tmp_path).pumper()


@pytest.mark.parametrize("aud, shown", [("0oaNEWCLIENTID", "'0oaNEWCLIENTID'"),
                                        (["other-a", "other-b"], "'other-a', 'other-b'"), (None, "none")])
def test_another_audience_is_a_warning_and_the_login_goes_on(sandbox, tmp_path, caplog, aud, shown):
    sb = sandbox()
    sb.forge_id_tokens(aud=aud)
    with caplog.at_level("WARNING", logger="tconnectsync.api.tandemsource.auth"):
        api = client(sb, tmp_path)
        assert [p["serialNumber"] for p in api.pumper()["pumps"]] == ["11111111"]
        sb.expire_tokens()
        api.pumper()                                      # a second login: the same warning is not repeated
    assert sb.login_attempts == 2
    warned = [r.getMessage() for r in caplog.records if r.levelname == "WARNING"]
    assert len(warned) == 1 and ("audience %s, not our client id '%s'" % (shown, CLIENT_IDS["US"])) in warned[0]
    assert api.pumper_id == DEFAULT_PUMPER_ID


def test_another_audience_does_not_excuse_a_bad_signature_or_issuer(sandbox, tmp_path):
    sb = sandbox()
    for forge in ({"wrong_key": True, "aud": "0oaNEW"}, {"iss": ISSUERS["EU"], "aud": "0oaNEW"}):
        sb.forge_id_tokens(**forge)
        with pytest.raises(IdTokenRejected):
            client(sb, tmp_path).pumper()


def test_the_eu_issuer_is_not_accepted_for_us(sandbox, tmp_path):
    sb = sandbox(region="US")
    sb.forge_id_tokens(iss=ISSUERS["EU"])
    with pytest.raises(IdTokenRejected):
        client(sb, tmp_path).pumper()


# ---------------------------------------------------------------------------- tokens

def test_token_cache_is_private_and_reused_by_another_instance(sandbox, tmp_path):
    sb = sandbox()
    path = tmp_path / "state" / "tokens.json"
    path.parent.mkdir()
    path.write_text("{}")
    os.chmod(path, 0o644)
    first = client(sb, tmp_path)
    first.pumper()
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    text = path.read_text()
    assert PASSWORD not in text and json.dumps(PASSWORD)[1:-1] not in text
    data = json.loads(text)
    assert {k: data[k] for k in ("email", "region", "pumper_id", "account_id")} == {
        "email": EMAIL, "region": "US", "pumper_id": DEFAULT_PUMPER_ID, "account_id": sb.account_id}
    assert data["access_token"] == first.access_token and data["expires_at"] == NOW + 8 * 3600
    services = sb.request_counts["services"]
    second = client(sb, tmp_path)
    second.pumper()
    assert sb.login_attempts == 1 and sb.request_counts["services"] == services and second.logins == 0
    # another account (or region) never uses it
    other = client(sb, tmp_path, email="other@example.com")
    with pytest.raises(BadCredentials):
        other.pumper()
    assert sb.login_attempts == 2


def test_an_expired_token_means_exactly_one_new_login(sandbox, tmp_path):
    clock = Clock()
    sb = sandbox(clock=clock, token_lifetime_s=3600)
    api = client(sb, tmp_path)
    api.pumper()
    clock.t += 3600                     # expired (3.0.3's ".seconds" quirk would miss this, docs/tandem-source.md §2)
    api.pumper()
    api.pumper()
    assert sb.logins == 2 and api.logins == 2
    assert not [r for r in sb.request_log if r.status == 401]
    # a new process finds the cached token due for renewal and logs in once
    clock.t += 3600 - 200               # inside the renewal margin of the second token
    fresh = client(sb, tmp_path)
    fresh.pumper()
    assert sb.logins == 3 and fresh.logins == 1


def test_a_401_means_one_new_login_and_one_retry(sandbox, tmp_path):
    sb = sandbox()
    api = client(sb, tmp_path)
    api.pumper()
    old = api.access_token
    sb.expire_tokens()                  # e.g. revoked by Tandem
    api.pumper()
    assert sb.logins == 2 and api.access_token != old
    assert [r.status for r in by_path(sb, "/bff/pumper/")] == [200, 401, 200]
    assert json.loads((tmp_path / "state" / "tokens.json").read_text())["access_token"] == api.access_token
    # a token refused right after a fresh login: an error, not a loop
    pred = sb.fail_when(lambda host, method, path, query: 401 if "/bff/pumper/" in path else None)
    with pytest.raises(TandemError) as info:
        api.pumper()
    assert info.value.status == 401 and sb.logins == 3
    sb.remove_fault(pred)
