"""The simulated Tandem Source cloud, exercised over HTTP with ``requests`` (no patching)."""
import collections
import datetime as dt
import importlib.util
import json
import os
import re
from urllib.parse import parse_qs, urlsplit

import jwt
import pytest
import requests

from tconnectsync.sandbox.scenario import make_scenario
from tconnectsync.sandbox.tandemsource import (CLIENT_IDS, DEFAULT_PUMPER_ID, EVENT_FIELDS, EXTRA_PROPS, ISSUERS,
                                               SandboxPump, TandemSourceSandbox, s256)
from tests import data

UTC = dt.timezone.utc
FIXTURES = str(data.TANDEMSOURCE)
EVENTS_JSON = str(data.EVENTS_JSON)
ASSIGNMENT = "f1c7e5d0-0000-4000-8000-000011111111"
VERIFIER = "v" * 86


def fixture_bytes(name):
    with open(os.path.join(FIXTURES, name), "rb") as f:
        return f.read()


def data_headers(sb, token):
    return {"Authorization": "Bearer " + token, "Origin": sb.source_origin, "Referer": sb.source_url}


def pump_logs(sb, token, start, end, assignment=ASSIGNMENT, codes="", extra=None, headers=None):
    params = {"pumperId": sb.pumper_id, "startDate": "%sT00:00:00Z" % start, "endDate": "%sT23:59:59Z" % end,
              "eventCodes": codes}
    params.update(extra or {})
    return requests.get(sb.source_url + "api/reports/bff/pump-logs/" + assignment, params=params,
                        headers=headers if headers is not None else data_headers(sb, token))


def pumper(sb, token):
    return requests.get(sb.source_url + "api/reports/bff/pumper/" + sb.pumper_id, headers=data_headers(sb, token))


def authorize(sb, s, verifier=VERIFIER, redirect_uri=None, client_id=None):
    return s.get(sb.services_url + "accounts/api/connect/authorize",
                 params={"client_id": client_id or sb.client_id, "response_type": "code",
                         "scope": "openid profile email", "redirect_uri": redirect_uri or sb.redirect_uri,
                         "code_challenge": s256(verifier), "code_challenge_method": "S256"},
                 headers={"Referer": sb.sso_url})


def login_flow(sb, email=None, password=None):
    """The browser's way through the login; returns (session, token answer)."""
    s = requests.Session()
    assert s.get(sb.sso_url).status_code == 200
    r = s.post(sb.services_url + "accounts/api/login", json={"username": email or sb.email,
                                                             "password": password or sb.password},
               headers={"Referer": sb.sso_url}, allow_redirects=False)
    assert r.status_code == 200 and r.json() == {"redirectUrl": "/", "status": "SUCCESS"}
    r = authorize(sb, s)
    assert r.status_code == 200 and r.url.startswith(sb.redirect_uri + "?")
    code = parse_qs(urlsplit(r.url).query)["code"][0]
    t = s.post(sb.services_url + "accounts/api/connect/token",
               data={"grant_type": "authorization_code", "client_id": sb.client_id, "code": code,
                     "redirect_uri": sb.redirect_uri, "code_verifier": VERIFIER})
    assert t.status_code == 200, t.text
    return s, t.json()


# ---------------------------------------------------------------------------- the fixtures, verbatim

def test_fixture_mode_serves_the_files_byte_for_byte():
    with TandemSourceSandbox(fixtures_dir=FIXTURES) as sb:
        _, answer = login_flow(sb, password="demo-password")
        token = answer["access_token"]
        assert pumper(sb, token).content == fixture_bytes("bff-pumper-response.json")
        codes = "229,5,28,4,26,279"
        for start, end in (("2026-08-12", "2026-08-12"), ("2026-08-12", "2026-08-13"), ("2026-07-20", "2026-08-12")):
            assert pump_logs(sb, token, start, end, codes=codes).content == fixture_bytes(
                "bff-pump-logs-response.json")
        assert pump_logs(sb, token, "2026-08-13", "2026-08-14").json() == {"events": [], "clockChanges": []}
        assert pump_logs(sb, token, "2026-08-12", "2026-08-12", assignment="nope").status_code == 404
        # the id_token carries the fixture's identity with fresh times
        claims = jwt.decode(answer["id_token"], options={"verify_signature": False})
        ref = json.loads(fixture_bytes("id-token-claims.json"))
        assert list(claims) == list(ref)
        assert {k: claims[k] for k in ("iss", "aud", "pumperId", "accountId", "email")} == {
            k: ref[k] for k in ("iss", "aud", "pumperId", "accountId", "email")}
        assert claims["exp"] - claims["iat"] == answer["expires_in"] == 28800


def test_token_answer_has_the_fixture_shape():
    with TandemSourceSandbox(fixtures_dir=FIXTURES) as sb:
        _, answer = login_flow(sb)
        assert list(answer) == list(json.loads(fixture_bytes("token-response.json")))


# ---------------------------------------------------------------------------- generated events

@pytest.fixture(scope="module")
def generated():
    sc = make_scenario(dt.date(2026, 8, 1), dt.date(2026, 8, 14), seed=3)
    sc.set_cutoff(dt.datetime(2026, 8, 14, 16, 0, tzinfo=UTC))
    with TandemSourceSandbox(scenario=sc) as sb:
        token = sb.issue_token()
        body = pump_logs(sb, token, "2026-08-01", "2026-08-14").json()
        yield sb, sc, token, body


def test_event_table_matches_events_json():
    spec = importlib.util.spec_from_file_location("generate_fixtures", os.path.join(FIXTURES, "generate_fixtures.py"))
    gen = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(gen)
    defs = gen.load_defs(EVENTS_JSON)
    for code, (name, fields) in EVENT_FIELDS.items():
        d = defs[str(code)]
        assert d["name"] == name
        expected = ["%s:%s" % (gen.camel_key(n), "f" if s["type"] == "float32" else "b" if gen.is_bitmask(s) else "i")
                    for n, s in d["data"].items()]
        assert fields.split() == expected, code
    assert EXTRA_PROPS == gen.EXTRA_JSON_PROPS


def test_generated_events_have_the_fixture_shape(generated):
    sb, sc, token, body = generated
    ref = json.loads(fixture_bytes("bff-pump-logs-response.json"))
    assert list(body) == list(ref)
    ref_by_code = {}
    for e in ref["events"]:
        ref_by_code.setdefault(e["eventCode"], e)
    ours_by_code = collections.defaultdict(list)
    for e in body["events"]:
        assert list(e) == list(ref["events"][0])
        assert e["deviceAssignmentId"] == ASSIGNMENT and e["sequenceGroup"] == 0
        assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d", e["pumpDateTime"])
        assert e["estimatedDateTime"] == e["pumpDateTime"] + "Z"
        ours_by_code[e["eventCode"]].append(e)
    shared = set(ref_by_code) & set(ours_by_code)
    assert shared >= {3, 5, 11, 12, 16, 20, 21, 28, 33, 48, 55, 59, 61, 63, 64, 65, 66, 90, 229, 279, 280, 369, 399}
    for code in shared:
        want = ref_by_code[code]["eventProperties"]
        for e in ours_by_code[code]:
            got = e["eventProperties"]
            assert list(got) == list(want), code
            assert [type(v) for v in got.values()] == [type(v) for v in want.values()], code
    seqs = [e["sequenceNumber"] for e in body["events"]]
    assert seqs == sorted(seqs) and len(set(seqs)) == len(seqs)
    raw = pump_logs(sb, token, "2026-08-01", "2026-08-01").text
    assert ": " not in raw and ", " not in raw                 # compact, like an API


def test_generated_events_tell_the_scenario_truth(generated):
    sb, sc, token, body = generated
    events = body["events"]
    by_code = collections.Counter(e["eventCode"] for e in events)
    boluses = sc.truth_boluses()
    assert by_code[20] == len(boluses)
    assert by_code[21] == len([b for b in boluses if b.extended_end is not None])
    assert by_code[64] == by_code[65] == by_code[66] == len(boluses)
    egv = [r for r in sc.truth_readings() if r.kind == "EGV"]
    assert abs(by_code[399] - len(egv)) <= 1                     # logged 3 s after the sensor's time
    real = [s for s in sc.truth_suspensions() if s.reason != "control-iq"]
    assert by_code[11] == len(real) and by_code[12] == len([s for s in real if s.end is not None])
    assert by_code[229] >= len(sc.truth_activities())
    # the bolus amounts
    delivered = sorted(round(e["eventProperties"]["insulinDelivered"], 2) for e in events if e["eventCode"] == 20)
    assert delivered == sorted(round(b.delivered, 2) for b in boluses)
    # nothing after the cutoff (pump wall time 12:00 on 08-14)
    assert max(e["pumpDateTime"] for e in events) <= "2026-08-14T12:00:00"
    # EGV timestamps are Tandem-epoch seconds of the reading's wall-clock time
    first = next(e for e in events if e["eventCode"] == 399)
    egv_wall = dt.datetime(2008, 1, 1) + dt.timedelta(seconds=first["eventProperties"]["egvTimeStamp"])
    assert 0 <= (dt.datetime.fromisoformat(first["pumpDateTime"]) - egv_wall).total_seconds() <= 5


def test_sequence_numbers_do_not_depend_on_the_window_or_the_cutoff(generated):
    sb, sc, token, body = generated
    whole = {(e["pumpDateTime"], e["eventCode"], e["sequenceNumber"]) for e in body["events"]}
    parts = set()
    for day in range(1, 15):
        d = "2026-08-%02d" % day
        parts |= {(e["pumpDateTime"], e["eventCode"], e["sequenceNumber"])
                  for e in pump_logs(sb, token, d, d).json()["events"]}
    assert parts == whole
    sc2 = make_scenario(dt.date(2026, 8, 1), dt.date(2026, 8, 14), seed=3, cutoff=dt.datetime(2026, 8, 3, tzinfo=UTC))
    with TandemSourceSandbox(scenario=sc2) as sb2:
        early = pump_logs(sb2, sb2.issue_token(), "2026-08-01", "2026-08-14").json()["events"]
    assert early and {(e["pumpDateTime"], e["eventCode"], e["sequenceNumber"]) for e in early} <= whole


def test_event_codes_filter(generated):
    sb, sc, token, body = generated
    only = pump_logs(sb, token, "2026-08-01", "2026-08-14", codes="20,399").json()["events"]
    assert {e["eventCode"] for e in only} == {20, 399, 8, 27}         # 8 and 27 come whatever the filter
    assert only == [e for e in body["events"] if e["eventCode"] in (20, 399, 8, 27)]


def test_pumper_lists_the_pump_with_its_newest_event(generated):
    sb, sc, token, body = generated
    p = pumper(sb, token).json()
    assert [x["serialNumber"] for x in p["pumps"]] == [sc.serial]
    pump = p["pumps"][0]
    ref = json.loads(fixture_bytes("bff-pumper-response.json"))["pumps"][0] if os.path.isdir(FIXTURES) else pump
    assert list(pump) == list(ref)
    assert pump["maxDateOfEvents"] == body["events"][-1]["pumpDateTime"]
    assert pump["availableDataRange"] == {"start": "2026-08-01T00:00:00", "end": pump["maxDateOfEvents"]}
    segs = pump["settings"]["details"]["profiles"]["profile"][0]["timeDependentSegments"]
    assert segs[0] == {"startTime": 0, "basalRate": 800, "isf": 40, "carbRatio": 8000, "targetBg": 110}


def test_multiple_pumps_and_the_mobi_encoding():
    x2 = make_scenario(dt.date(2026, 8, 1), dt.date(2026, 8, 7), seed=1, cutoff=dt.datetime(2026, 8, 7, 18, tzinfo=UTC))
    mobi = make_scenario(dt.date(2026, 7, 20), dt.date(2026, 8, 4), seed=2, serial="22222222",
                         cutoff=dt.datetime(2026, 8, 4, 12, tzinfo=UTC))
    with TandemSourceSandbox(pumps=[SandboxPump(x2), SandboxPump(mobi, model="mobi", cgm="fsl3")]) as sb:
        token = sb.issue_token()
        pumps = pumper(sb, token).json()["pumps"]
        assert [(p["serialNumber"], p["modelName"], p["maxDateOfEvents"][:13]) for p in pumps] == [
            ("11111111", "t:slim X2 Insulin Pump", "2026-08-07T13"),
            ("22222222", "Tandem Mobi\u2122 System", "2026-08-04T08")]
        mobi_id = pumps[1]["assignmentId"]
        events = pump_logs(sb, token, "2026-07-20", "2026-08-04", assignment=mobi_id).json()["events"]
        assert {e["deviceAssignmentId"] for e in events} == {mobi_id}
        codes = {e["eventCode"] for e in events}
        assert 480 in codes and 399 not in codes                  # Libre 3 readings
        options = {e["eventProperties"]["options"] for e in events if e["eventCode"] == 65}
        assert options <= {3, 4, 5} and 4 in options               # phone (BLE) boluses
        assert {e["eventProperties"]["bolusSource"] for e in events if e["eventCode"] == 280} <= {7, 8}
        fills = [e["eventProperties"] for e in events if e["eventCode"] == 33]
        assert fills and all(f == {"insulinVolume": 180, "v2Volume": 0.0} for f in fills)
        x2_events = pump_logs(sb, token, "2026-08-01", "2026-08-07").json()["events"]
        assert not {e["sequenceNumber"] for e in x2_events} & {e["sequenceNumber"] for e in events}


def test_a_clock_change_is_logged_and_listed_in_clock_changes():
    sc = make_scenario(dt.date(2026, 10, 30), dt.date(2026, 11, 2), seed=4)      # DST ends 2026-11-01
    with TandemSourceSandbox(scenario=sc) as sb:
        token = sb.issue_token()
        body = pump_logs(sb, token, "2026-10-30", "2026-10-31").json()
        change = body["clockChanges"]
        assert len(change) == 1 and change[0]["eventCode"] == 13
        assert change[0]["pumpDateTime"] == "2026-11-01T01:00:00"
        assert change[0]["eventProperties"]["timePrior"] - change[0]["eventProperties"]["timeAfter"] == 3600
        assert not [e for e in body["events"] if e["eventCode"] == 13]          # not in this window
        day = pump_logs(sb, token, "2026-11-01", "2026-11-01").json()["events"]
        assert [e for e in day if e["eventCode"] == 13] == change
        # the repeated hour appears twice on the pump clock, in sequence order
        times = [e["pumpDateTime"] for e in day if e["eventCode"] == 399]
        assert len(times) == 300 and times != sorted(times)


def test_window_overlap_repeats_boundary_events():
    sc = make_scenario(dt.date(2026, 8, 1), dt.date(2026, 8, 3), seed=1)
    with TandemSourceSandbox(scenario=sc, window_overlap_s=3 * 3600) as sb:
        token = sb.issue_token()
        a = pump_logs(sb, token, "2026-08-01", "2026-08-01").json()["events"]
        b = pump_logs(sb, token, "2026-08-02", "2026-08-02").json()["events"]
        assert {e["sequenceNumber"] for e in a} & {e["sequenceNumber"] for e in b}
        assert max(e["pumpDateTime"] for e in a) > "2026-08-02T02:00:00"


# ---------------------------------------------------------------------------- request checks

def test_pump_logs_query_validation(generated):
    sb, sc, token, body = generated
    r = pump_logs(sb, token, "2026-08-01", "2026-08-01", extra={"eventIds": "279,399"})
    assert r.status_code == 400
    issue = r.json()["error"]["issues"][0]
    assert r.json()["error"]["name"] == "ZodError" and issue["code"] == "unrecognized_keys"
    assert issue["keys"] == ["eventIds"]
    assert pump_logs(sb, token, "2026-07-01", "2026-07-28").status_code == 200          # 28 days
    r = pump_logs(sb, token, "2026-07-01", "2026-07-29")                                  # 29 days
    assert r.status_code == 400 and "28 days" in r.text
    assert pump_logs(sb, token, "2026-08-02", "2026-08-01").status_code == 400
    r = requests.get(sb.source_url + "api/reports/bff/pump-logs/" + ASSIGNMENT,
                     params={"pumperId": sb.pumper_id, "startDate": "08-01-2026", "endDate": "2026-08-01T23:59:59Z"},
                     headers=data_headers(sb, token))
    assert r.status_code == 400 and r.json()["error"]["issues"][0]["path"] == ["startDate"]
    r = pump_logs(sb, token, "2026-08-01", "2026-08-01", extra={"pumperId": "someone-else"})
    assert r.status_code == 404
    assert pump_logs(sb, token, "2026-08-01", "2026-08-01", assignment="unknown").status_code == 404
    # the retired v2 endpoints are gone
    r = requests.get(sb.source_url + "api/reports/reportsfacade/%s/pumpeventmetadata" % sb.pumper_id,
                     headers=data_headers(sb, token))
    assert r.status_code == 404


def test_firewall_and_bearer_checks(generated):
    sb, sc, token, body = generated
    url = sb.source_url + "api/reports/bff/pumper/" + sb.pumper_id
    for headers in ({"Authorization": "Bearer " + token},
                    {"Authorization": "Bearer " + token, "Origin": "https://tconnect.tandemdiabetes.com",
                     "Referer": "https://tconnect.tandemdiabetes.com/"},
                    {"Authorization": "Bearer " + token, "Origin": sb.source_origin,
                     "Referer": "https://source.tandemdiabetes.com/"}):
        r = requests.get(url, headers=headers)
        assert r.status_code == 403 and "The request is blocked" in r.text
    assert requests.get(url, headers={"Origin": sb.source_origin, "Referer": sb.source_url}).status_code == 401
    assert requests.get(url, headers=data_headers(sb, "forged")).status_code == 401
    other = TandemSourceSandbox(scenario=sc)
    assert requests.get(url, headers=data_headers(sb, other.issue_token())).status_code == 401
    assert requests.get(url, headers=data_headers(sb, token)).status_code == 200
    # the EU/US callback pages need no headers
    assert requests.get(sb.source_url + "authorize/callback?code=x").status_code == 200


@pytest.mark.parametrize("region", ["US", "EU"])
def test_login_flow_and_id_token(region):
    sc = make_scenario(dt.date(2026, 8, 1), dt.date(2026, 8, 2))
    with TandemSourceSandbox(scenario=sc, region=region) as sb:
        s, answer = login_flow(sb)
        assert answer["expires_in"] == 28800 and answer["token_type"] == "Bearer"
        keys = s.get(sb.services_url + "accounts/api/.well-known/openid-configuration/jwks").json()["keys"]
        header = jwt.get_unverified_header(answer["id_token"])
        key = next(k for k in keys if k["kid"] == header["kid"])
        claims = jwt.decode(answer["id_token"], jwt.PyJWK(key, algorithm="RS256").key, algorithms=["RS256"],
                            audience=CLIENT_IDS[region], issuer=ISSUERS[region])
        assert claims["pumperId"] == DEFAULT_PUMPER_ID and claims["email"] == sb.email
        assert pumper(sb, answer["access_token"]).status_code == 200
        callbacks = [r for r in sb.request_log if r.path.endswith("callback") or "callback?" in r.path]
        assert [r.host for r in callbacks] == (["sso"] if region == "US" else ["source"])
        assert sb.login_attempts == 1 and sb.logins == 1


def test_authorize_and_token_checks():
    sc = make_scenario(dt.date(2026, 8, 1), dt.date(2026, 8, 2))
    with TandemSourceSandbox(scenario=sc) as sb:
        s = requests.Session()
        # no login session: sent to the sign-in page, no code
        r = authorize(sb, s)
        assert r.status_code == 200 and "code=" not in urlsplit(r.url).query and r.url.startswith(sb.sso_url)
        s.post(sb.services_url + "accounts/api/login", json={"username": sb.email, "password": sb.password})
        assert authorize(sb, s, redirect_uri="https://evil.example/cb").status_code == 400
        assert authorize(sb, s, client_id=CLIENT_IDS["EU"]).status_code == 400
        r = authorize(sb, s)
        code = parse_qs(urlsplit(r.url).query)["code"][0]
        token_url = sb.services_url + "accounts/api/connect/token"
        form = {"grant_type": "authorization_code", "client_id": sb.client_id, "code": code,
                "redirect_uri": sb.redirect_uri, "code_verifier": "w" * 86}
        r = requests.post(token_url, data=form)                               # wrong verifier
        assert r.status_code == 400 and r.json() == {"error": "invalid_grant"}
        r = requests.post(token_url, data=dict(form, code_verifier=VERIFIER))  # the code was used up
        assert r.status_code == 400
        code = parse_qs(urlsplit(authorize(sb, s).url).query)["code"][0]
        r = requests.post(token_url, data=dict(form, code=code, code_verifier=VERIFIER,
                                               redirect_uri=sb.sso_url + "other"))
        assert r.status_code == 400
        code = parse_qs(urlsplit(authorize(sb, s).url).query)["code"][0]
        r = requests.post(token_url, data=dict(form, code=code, code_verifier=VERIFIER, client_id="someone"))
        assert r.status_code == 401
        r = requests.post(token_url, data=dict(form, code=code, code_verifier=VERIFIER))
        assert r.status_code == 200


def test_wrong_credentials_and_lockout():
    sc = make_scenario(dt.date(2026, 8, 1), dt.date(2026, 8, 2))
    with TandemSourceSandbox(scenario=sc) as sb:
        url = sb.services_url + "accounts/api/login"
        sb.max_failed_logins = 2
        for _ in range(3):
            r = requests.post(url, json={"username": sb.email, "password": "wrong"})
            assert r.status_code == 401 and r.json()["status"] == "FAILED"
        r = requests.post(url, json={"username": sb.email, "password": sb.password})
        assert r.status_code == 401 and r.json()["status"] == "LOCKED" and sb.locked_out
        assert sb.login_attempts == 4 and sb.failed_logins == 3 and sb.logins == 0
        sb.reset_lockout()
        assert requests.post(url, json={"username": sb.email.upper(), "password": sb.password}).status_code == 200
        assert requests.post(url, data="username=x").status_code == 415


def test_fault_injection_and_counts():
    sc = make_scenario(dt.date(2026, 8, 1), dt.date(2026, 8, 2))
    with TandemSourceSandbox(scenario=sc) as sb:
        token = sb.issue_token()
        sb.fail_next("source", 2, status=500)
        assert [pumper(sb, token).status_code for _ in range(3)] == [500, 500, 200]
        pred = sb.fail_when(lambda host, method, path, query: 503 if "pump-logs" in path else None)
        assert pump_logs(sb, token, "2026-08-01", "2026-08-01").status_code == 503
        sb.remove_fault(pred)
        sb.expire_tokens()
        assert pumper(sb, token).status_code == 401
        sb.down = "source"
        with pytest.raises(requests.ConnectionError):
            pumper(sb, token)
        sb.down = False
        assert pumper(sb, sb.issue_token()).status_code == 200
        assert sb.request_counts == {"sso": 0, "services": 0, "source": 6}
        assert [r.status for r in sb.request_log] == [500, 500, 200, 503, 401, 200]
