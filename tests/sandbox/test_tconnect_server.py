"""The simulated Tandem cloud, exercised over HTTP with ``requests`` (no patching)."""
import base64
import csv
import datetime as dt
import json
import os
import re
import time

import pytest
import requests

from tconnectsync import timeutil
from tconnectsync.sandbox.scenario import make_scenario
from tconnectsync.sandbox.tconnect import (ANDROID_CLIENT_ID, ANDROID_CLIENT_SECRET, DEFAULT_USER_GUID,
                                           EMAIL_FIELD, PASSWORD_FIELD, TOKEN_EXPIRED,
                                           TandemLegacySandbox, request_window)
from tests import data

UTC = dt.timezone.utc
GUID = DEFAULT_USER_GUID
UA = ("Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) "
      "Chrome/88.0.4324.182 Safari/537.36")
FIXTURES = str(data.TCONNECT)
WINDOW_A = "window-2021-10-20_2021-10-21"
WINDOW_DST = "window-2021-11-06_2021-11-07-dst"
WINDOW_PRE = "window-2020-01-14_2020-01-15-pre-ciq"
LA = timeutil.TANDEM_SERVER_TZ


class Clock:
    def __init__(self, t=1634900000.0):
        self.t = t

    def __call__(self):
        return self.t


def fixture_bytes(relpath):
    with open(os.path.join(FIXTURES, relpath), "rb") as f:
        return f.read()


def mdy(d):
    return d.strftime("%m-%d-%Y")


def session():
    s = requests.Session()
    s.headers["User-Agent"] = UA
    return s


def login_form(page, email, password):
    values = {k: re.search(r'id="%s" value="([^"]*)"' % k, page).group(1)
              for k in ("__VIEWSTATE", "__VIEWSTATEGENERATOR", "__EVENTVALIDATION")}
    state = '{"enabled":true,"emptyMessage":"","validationText":"%s","valueAsString":"%s","lastSetTextBoxValue":"%s"}'
    return [("__LASTFOCUS", ""), ("__EVENTTARGET", "ctl00$ContentBody$LoginControl$linkLogin"),
            ("__EVENTARGUMENT", ""), ("__VIEWSTATE", values["__VIEWSTATE"]),
            ("__VIEWSTATEGENERATOR", values["__VIEWSTATEGENERATOR"]),
            ("__EVENTVALIDATION", values["__EVENTVALIDATION"]), (EMAIL_FIELD, email),
            ("txtLoginEmailAddress_ClientState", state % (email, email, email)), (PASSWORD_FIELD, password),
            ("txtLoginPassword_ClientState", state % (password, password, password))]


def web_login(sb, s=None, email=None, password=None):
    s = s or session()
    page = s.get(sb.login_url)
    assert page.status_code == 200
    return s.post(sb.login_url, data=login_form(page.text, email or sb.email, password or sb.password),
                  headers={"Referer": sb.login_url}, allow_redirects=False)


def web_token(sb):
    r = web_login(sb)
    assert r.status_code == 302
    return r.cookies["accessToken"]


def android_login(sb, username=None, password=None, client=(ANDROID_CLIENT_ID, ANDROID_CLIENT_SECRET)):
    return requests.post(sb.services_url + "cloud/oauth2/token", auth=client,
                         data={"grant_type": "password", "username": username or sb.email,
                               "password": password or sb.password,
                               "scope": "cloud.account cloud.upload cloud.accepttcpp cloud.email cloud.password"})


def ciq(sb, endpoint, start, end, token, guid=GUID, s=None, **kw):
    url = sb.services_url + "tconnect/controliq/api/%s/users/%s?startDate=%s&endDate=%s" % (
        endpoint, guid, mdy(start), mdy(end))
    return (s or session()).get(url, headers={"Authorization": "Bearer %s" % token}, **kw)


def ws2(sb, endpoint, start, end, guid=GUID, **kw):
    suffix = {"csv": "therapytimeline2csv/%s/%s/%s?format=csv",
              "susp": "basalsuspension/%s/%s/%s/?callback=cb",
              "filter": "basalsuspension/%s/%s/%s/filterbasal/1?callback=cb",
              "iqtech": "basaliqtech/%s/%s/%s?callback=cb"}[endpoint]
    return session().get(sb.ws2_url + suffix % (guid, mdy(start), mdy(end)), **kw)


def therapy_events(sb, start, end, token, guid=GUID):
    return session().get(sb.services_url + "tconnect/therapyevents/api/TherapyEvents/%s/%s/false?userId=%s"
                         % (mdy(start), mdy(end), guid), headers={"Authorization": "Bearer %s" % token})


def csv_blocks(text):
    return [block.split("\n") for block in text.rstrip("\n").split("\n\n")]


def jsonp(text):
    assert text.startswith("cb(") and text.endswith(")")
    return json.loads(text[3:-1])


D20, D21 = dt.date(2021, 10, 20), dt.date(2021, 10, 21)


# ---------------------------------------------------------------------------- fixtures served verbatim

def test_fixture_windows_are_served_verbatim():
    with TandemLegacySandbox(fixtures_dir=FIXTURES) as sb:
        token = web_token(sb)
        for folder, (a, b) in ((WINDOW_A, (D20, D21)), (WINDOW_DST, (dt.date(2021, 11, 6), dt.date(2021, 11, 7)))):
            assert ciq(sb, "therapytimeline", a, b, token).content == fixture_bytes(
                folder + "/controliq_therapytimeline.json")
            assert ciq(sb, "summary", a, b, token).content == fixture_bytes(folder + "/controliq_summary.json")
            assert ws2(sb, "csv", a, b).content == fixture_bytes(folder + "/ws2_therapytimeline2csv.csv")
            assert ws2(sb, "susp", a, b).content == fixture_bytes(folder + "/ws2_basalsuspension.jsonp")
            assert ws2(sb, "filter", a, b).content == fixture_bytes(folder + "/ws2_basalsuspension_filterbasal.jsonp")
            assert ws2(sb, "iqtech", a, b).content == fixture_bytes(folder + "/ws2_basaliqtech.jsonp")
            assert therapy_events(sb, a, b, token).content == fixture_bytes(folder + "/therapyevents.json")
        pre = (dt.date(2020, 1, 14), dt.date(2020, 1, 15))
        r = ciq(sb, "therapytimeline", *pre, token)
        assert r.status_code == 404 and r.content == fixture_bytes("controliq/error_404.json")
        assert ws2(sb, "csv", *pre).content == fixture_bytes(WINDOW_PRE + "/ws2_therapytimeline2csv.csv")
        assert session().get(sb.services_url + "tconnect/controliq/api/pumpfeatures/users/" + GUID,
                             headers={"Authorization": "Bearer " + token}).content == fixture_bytes(
            "controliq/pumpfeatures.json")
        assert session().get(sb.login_url).content == fixture_bytes("web/login_get.html")
        # an unknown window: empty answers
        r = ws2(sb, "susp", dt.date(2021, 5, 1), dt.date(2021, 5, 2))
        assert jsonp(r.text) == {"BasalSuspension": []}
        assert len(csv_blocks(ws2(sb, "csv", dt.date(2021, 5, 1), dt.date(2021, 5, 2)).text)) == 1
        assert ciq(sb, "therapytimeline", dt.date(2021, 5, 1), dt.date(2021, 5, 2), token).status_code == 404


def test_fixture_android_files_and_upload_sequence():
    with TandemLegacySandbox(fixtures_dir=FIXTURES) as sb:
        r = android_login(sb)
        assert r.status_code == 200
        body = r.json()
        assert list(body) == list(json.loads(fixture_bytes("android/oauth_token.json")))
        auth = {"Authorization": "Bearer " + body["accessToken"]}
        for path, name in (("cloud/account/patient_info", "patient_info.json"),
                           ("cloud/usersettings/api/UserProfile?userId=" + GUID, "user_profile.json"),
                           ("cloud/usersettings/api/therapythresholds?userId=" + GUID, "therapythresholds.json")):
            assert requests.get(sb.services_url + path, headers=auth).content == fixture_bytes("android/" + name)
        url = sb.services_url + "cloud/upload/getlasteventuploaded?sn=11111111"
        seen = [requests.get(url, headers=auth).json()["maxPumpEventIndex"] for _ in range(4)]
        assert seen == [412398, 412398, 412431, 412431]


# ---------------------------------------------------------------------------- generated data, exact formats

@pytest.fixture(scope="module")
def generated():
    """A scenario cut during an extended bolus, served with a valid web token; the window is
    the day of that bolus and the day before."""
    sc = make_scenario(dt.date(2021, 10, 1), dt.date(2021, 10, 31), seed=5)
    ext = [b for b in sc.truth_boluses() if b.extended][1]    # one completed extended bolus before it
    sc.set_cutoff(ext.extended_start + dt.timedelta(minutes=20))
    day = ext.request_time.astimezone(timeutil.get_zone("America/New_York")).date()
    with TandemLegacySandbox(scenario=sc) as sb:
        yield sb, web_token(sb), day - dt.timedelta(days=1), day


def test_timeline_and_summary_have_the_fixture_keys(generated):
    sb, token, a, b = generated
    ours = ciq(sb, "therapytimeline", a - dt.timedelta(days=4), b, token).json()     # every record kind
    ref = json.loads(fixture_bytes(WINDOW_A + "/controliq_therapytimeline.json"))
    assert list(ours) == list(ref) and list(ours["basal"]) == list(ref["basal"])
    for kind in ("tempDeliveryEvents", "algorithmDeliveryEvents", "profileDeliveryEvents"):
        assert ours["basal"][kind], kind
        assert {tuple(x) for x in ours["basal"][kind]} == {("y", "duration", "x")}
    assert {tuple(x) for x in ours["suspensionDeliveryEvents"]} == {tuple(ref["suspensionDeliveryEvents"][0])}
    assert {tuple(x) for x in ours["events"]} == {tuple(ref["events"][0])}
    assert ours["pumpFeatures"] == ref["pumpFeatures"]
    summary = ciq(sb, "summary", a, b, token).json()
    assert list(summary) == list(json.loads(fixture_bytes(WINDOW_A + "/controliq_summary.json")))
    assert summary["totalDays"] == 2 and 60 < summary["averageReading"] < 250
    raw = ciq(sb, "therapytimeline", a, b, token).text
    assert ": " not in raw and ", " not in raw          # compact like the fixtures


def test_csv_has_the_fixture_format(generated):
    sb, token, a, b = generated
    ours = csv_blocks(ws2(sb, "csv", a, b).text)
    ref = csv_blocks(fixture_bytes(WINDOW_A + "/ws2_therapytimeline2csv.csv").decode())
    assert ours[0][:4] == ref[0][:4]
    assert re.fullmatch(r"Report Generated On, \d{1,2}/\d{1,2}/\d{4} \d{1,2}:\d\d:\d\d [AP]M", ours[0][4])
    assert [blk[0] for blk in ours[1:]] == [blk[0] for blk in ref[1:]]
    widths = {blk[0]: {len(r) for r in csv.reader(blk[1:])} for blk in ref[1:]}
    assert list(widths.values()) == [{6}, {4}, {43}]
    for blk in ours[1:]:
        rows = list(csv.reader(blk[1:]))
        assert rows and {len(r) for r in rows} == widths[blk[0]], blk[0]
        assert all(line.startswith('"') for line in blk[1:])
    bolus_rows = list(csv.reader(ours[-1][1:]))
    # 41 header names; 42 quoted values and a trailing comma per row, exactly as the fixtures
    assert len(ours[-1][0].split(",")) == 41 and all(r[-1] == "" and r[-2] == "" for r in bolus_rows)
    running = [r for r in bolus_rows if r[1].startswith("Extended")][-1]
    assert running[16] == "" and running[21] == "0" and running[20] == ""   # in progress


def test_jsonp_and_therapy_events_have_the_fixture_format(generated):
    sb, token, a, b = generated
    ref_rows = jsonp(fixture_bytes(WINDOW_DST + "/ws2_basalsuspension.jsonp").decode())["BasalSuspension"]
    shapes = {tuple(x) for x in ref_rows}
    for endpoint in ("susp", "filter"):
        rows = []
        for day in range(1, 30, 2):
            d = dt.date(2021, 10, day)
            r = ws2(sb, endpoint, d, d + dt.timedelta(days=1))
            assert r.headers["Content-Type"].startswith("application/javascript")
            rows += jsonp(r.text)["BasalSuspension"]
        assert {tuple(x) for x in rows} == (shapes if endpoint == "susp" else {("EventDateTime", "SuspendReason")})
        assert all(re.fullmatch(r"/Date\(\d+000-0000\)/", x["EventDateTime"]) for x in rows)
        reasons = {x["SuspendReason"] for x in rows}
        if endpoint == "filter":
            assert reasons == {"site-cart"}
        else:
            assert {"site-cart", "manual", "previous"} <= reasons <= {
                "site-cart", "manual", "alarm", "temp-profile", "previous", "basal-profile"}
    assert jsonp(ws2(sb, "iqtech", a, b).text) == {"BasalIQTech": []}
    ours = therapy_events(sb, dt.date(2021, 10, 1), b, token).json()["event"]
    ref = json.loads(fixture_bytes(WINDOW_A + "/therapyevents.json"))["event"]
    ref += json.loads(fixture_bytes(WINDOW_DST + "/therapyevents.json"))["event"]

    def shapes(events):
        out = {}
        for e in events:
            kind = e["type"] + ("+bolex" + str(sorted(e["bolex"])) if "bolex" in e else "")
            out.setdefault(kind, []).append(list(e))
        return out
    ours_s, ref_s = shapes(ours), shapes(ref)
    assert set(ours_s) == set(ref_s)       # CGM, BG, Bolus, extended done, extended running
    for kind, key_lists in ours_s.items():
        assert all(k == ref_s[kind][0] for k in key_lists), kind
    times = [e["eventDateTime"] for e in ours]
    assert times == sorted(times)          # no DST in this window: event order = string order


def test_a_single_bolus_still_gets_its_section():
    sc = make_scenario(dt.date(2021, 10, 20), dt.date(2021, 10, 21))
    first = sc.truth_boluses()[0]
    sc.set_cutoff(first.completion_time + dt.timedelta(seconds=30))
    with TandemLegacySandbox(scenario=sc) as sb:
        blocks = csv_blocks(ws2(sb, "csv", D20, D21).text)
        assert blocks[-1][0].startswith("Type,Description,BG") and len(blocks[-1]) == 2
        assert list(csv.reader(blocks[-1][1:]))[0][4] == "%s.000" % first.request_id


def test_pre_control_iq_window_has_a_basal_section_and_404s():
    sc = make_scenario(dt.date(2020, 1, 10), dt.date(2020, 1, 25))
    with TandemLegacySandbox(scenario=sc) as sb:
        token = web_token(sb)
        a, b = dt.date(2020, 1, 14), dt.date(2020, 1, 15)
        r = ciq(sb, "therapytimeline", a, b, token)
        assert r.status_code == 404 and r.json()["status"] == 404
        assert r.headers["Content-Type"].startswith("application/problem+json")
        assert ciq(sb, "summary", a, b, token).status_code == 404
        blocks = csv_blocks(ws2(sb, "csv", a, b).text)
        assert [blk[0] for blk in blocks[1:]][2] == "Type,EventDateTime,BasalRate"
        rows = list(csv.reader(blocks[3][1:]))
        assert rows[0] == ["Basal", "2020-01-14T00:00:00", "0.800"]
        assert all(len(r) == 3 and re.fullmatch(r"\d\.\d{3}", r[2]) for r in rows)
        assert ciq(sb, "therapytimeline", dt.date(2020, 1, 20), dt.date(2020, 1, 21), token).status_code == 200


# ---------------------------------------------------------------------------- DST

def decoded_starts(sb, token, day, tz):
    body = ciq(sb, "therapytimeline", day, day, token).json()
    segs = []
    for kind, key in (("algorithm", "algorithmDeliveryEvents"), ("temp", "tempDeliveryEvents"),
                      ("profile", "profileDeliveryEvents")):
        for x in body["basal"][key]:
            segs.append((timeutil.decode_pseudo_epoch(x["x"], tz), x["duration"], x["y"], kind, x["x"]))
    return sorted(segs, key=lambda s: s[0]), body


def test_us_fall_back_day_encodes_both_occurrences():
    sc = make_scenario(dt.date(2021, 11, 6), dt.date(2021, 11, 8))
    tz = timeutil.get_zone("America/New_York")
    day = dt.date(2021, 11, 7)
    with TandemLegacySandbox(scenario=sc) as sb:
        token = web_token(sb)
        segs, body = decoded_starts(sb, token, day, tz)
        truth = [s for s in sc.truth_basal(day, day).segments]
        assert [(s[0], s[1], s[2], s[3]) for s in segs] == [
            (t.start, t.duration_s, t.rate, t.kind) for t in truth]
        xs = [s[4] for s in segs]
        assert len(set(xs)) == len(xs) and sum(s[1] for s in segs) <= 25 * 3600
        # pseudo epochs of second-occurrence times are one hour after the first occurrence
        lines = ws2(sb, "csv", day, day).text.split("\n")
        repeated = [ln for ln in lines if ln.startswith('"t:slim') and "T01:02:33" in ln]
        assert len(repeated) == 2
        first = timeutil.localize(dt.datetime(2021, 11, 7, 1, 2, 33), tz)
        second = timeutil.localize(dt.datetime(2021, 11, 7, 1, 2, 33), tz, second=True)
        assert sc.pseudo_epoch(int(second.timestamp())) - sc.pseudo_epoch(int(first.timestamp())) == 3600
        assert sc.pseudo_epoch(int(second.timestamp())) == 1636272153 + 3600
        susp = body["suspensionDeliveryEvents"]
        assert [timeutil.decode_pseudo_epoch(x["x"], tz) for x in susp] == sorted(
            timeutil.decode_pseudo_epoch(x["x"], tz) for x in susp)


def test_spring_forward_day_has_no_gap_times_and_23_hours():
    sc = make_scenario(dt.date(2021, 3, 13), dt.date(2021, 3, 15))
    tz = timeutil.get_zone("America/New_York")
    day = dt.date(2021, 3, 14)
    with TandemLegacySandbox(scenario=sc) as sb:
        token = web_token(sb)
        segs, _ = decoded_starts(sb, token, day, tz)
        truth = sc.truth_basal(day, day)
        assert [(s[0], s[1]) for s in segs] == [(t.start, t.duration_s) for t in truth.segments]
        text = ws2(sb, "csv", day, day).text
        assert "T02:" not in text
        egv = [ln for ln in text.split("\n") if '"EGV"' in ln]
        assert len(egv) == 23 * 12
        # across the gap the pseudo epoch moves like real time
        before = int(timeutil.localize(dt.datetime(2021, 3, 14, 1, 59, 59), tz).timestamp())
        assert sc.pseudo_epoch(before + 1) - sc.pseudo_epoch(before) == 1


def test_berlin_fall_back_day_follows_the_los_angeles_convention():
    """Berlin's repeated 02:xx hour is not repeated in Los Angeles, so (docs/tconnect.md §2) both
    occurrences get the same pseudo epoch; the records still come in event order."""
    sc = make_scenario(dt.date(2021, 10, 30), dt.date(2021, 11, 1), tz_name="Europe/Berlin")
    tz = timeutil.get_zone("Europe/Berlin")
    day = dt.date(2021, 10, 31)
    with TandemLegacySandbox(scenario=sc) as sb:
        token = web_token(sb)
        text = ws2(sb, "csv", day, day).text
        egv = [ln for ln in text.split("\n") if '"EGV"' in ln]
        assert len(egv) == 25 * 12
        assert sum('"2021-10-31T02:07:33"' in ln for ln in egv) == 2
        first = int(timeutil.localize(dt.datetime(2021, 10, 31, 2, 7, 33), tz).timestamp())
        assert first + 3600 == int(timeutil.localize(dt.datetime(2021, 10, 31, 2, 7, 33), tz, True).timestamp())
        expected = timeutil.encode_pseudo_epoch(dt.datetime(2021, 10, 31, 2, 7, 33))
        assert sc.pseudo_epoch(first) == sc.pseudo_epoch(first + 3600) == expected
        body = ciq(sb, "therapytimeline", day, day, token).json()
        truth = sc.truth_basal(day, day).segments
        assert len(truth) == sum(len(v) for k, v in body["basal"].items() if k != "profileRates")
        assert sum(s.duration_s for s in truth) + sum(
            (min(x.end, truth[-1].start + dt.timedelta(seconds=truth[-1].duration_s)) - x.start).total_seconds()
            for x in sc.truth_suspensions(day, day) if x.reason != "control-iq" and x.end) <= 25 * 3600
        algo = body["basal"]["algorithmDeliveryEvents"]
        for x in algo:
            naive = dt.datetime.fromtimestamp(x["x"], UTC).astimezone(LA).replace(tzinfo=None)
            assert timeutil.encode_pseudo_epoch(naive) == x["x"]


# ---------------------------------------------------------------------------- login and lockout

def test_web_login_flow():
    clock = Clock()
    with TandemLegacySandbox(scenario=make_scenario(D20, D21), clock=clock) as sb:
        s = session()
        r = web_login(sb, s)
        assert r.status_code == 302 and r.headers["Location"] == "/"
        assert r.cookies["UserGUID"] == GUID and r.cookies["accessToken"]
        assert {"ASP.NET_SessionId", ".ASPXAUTH"} <= set(r.cookies.keys())
        expires = timeutil.parse_iso_utc(r.cookies["accessTokenExpiresAt"])
        assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", r.cookies["accessTokenExpiresAt"])
        assert abs(expires.timestamp() - (clock.t + 8 * 3600)) < 0.01
        assert s.post(sb.web_url, cookies=r.cookies).status_code == 200
        # the %2F spelling requests produces works the same
        page = s.get(sb.web_url + "login.aspx?ReturnUrl=%2F")
        assert s.post(sb.web_url + "login.aspx?ReturnUrl=%2F", data=login_form(page.text, sb.email, sb.password),
                      allow_redirects=False).status_code == 302
        bad = web_login(sb, s, password="wrong")
        assert bad.status_code == 200 and 'class="notice_error"' in bad.text and "accessToken" not in bad.cookies
        # a form without the issued viewstate is refused with an error page
        form = dict(login_form(page.text, sb.email, sb.password))
        form["__VIEWSTATE"] = "forged"
        r = s.post(sb.login_url, data=form, allow_redirects=False)
        assert r.status_code == 200 and 'class="notice_error"' in r.text
        del form["__EVENTVALIDATION"]
        assert s.post(sb.login_url, data=form, allow_redirects=False).status_code == 200
        assert sb.login_attempts == 5 and sb.failed_logins == 1


def test_lockout_after_repeated_failures():
    clock = Clock()
    with TandemLegacySandbox(scenario=make_scenario(D20, D21), clock=clock) as sb:
        for _ in range(6):
            r = web_login(sb, password="wrong")
            assert r.status_code == 200 and "Max attempted logins exceeded." not in r.text
        assert sb.locked_out
        r = web_login(sb)                               # even the right password
        assert r.status_code == 200 and re.search(
            r'class="notice_error">Max attempted logins exceeded.<', r.text)
        r = android_login(sb)
        assert r.status_code == 401 and "Max attempted logins exceeded." in r.text
        assert sb.failed_logins == 6 and sb.login_attempts == 8
        clock.t += 3601
        assert web_login(sb).status_code == 302


def test_android_login():
    with TandemLegacySandbox(scenario=make_scenario(D20, D21)) as sb:
        assert android_login(sb, client=("someone", "else")).status_code == 401
        r = android_login(sb, password="wrong")
        assert r.status_code == 401 and r.json()["name"] == "invalid_grant"
        r = android_login(sb)
        assert r.status_code == 200
        body = r.json()
        assert set(body) == {"accessToken", "accessTokenExpiresAt", "refreshToken", "refreshTokenExpiresAt", "user"}
        assert body["user"] == {"id": GUID} and sb.login_attempts == 2 and sb.failed_logins == 1
        basic = base64.b64encode(("%s:%s" % (ANDROID_CLIENT_ID, ANDROID_CLIENT_SECRET)).encode()).decode()
        assert requests.post(sb.services_url + "cloud/oauth2/token", headers={"Authorization": "Basic " + basic},
                             data={"grant_type": "client_credentials"}).status_code == 400


# ---------------------------------------------------------------------------- request validation

def test_control_iq_validates_like_tandem():
    clock = Clock()
    with TandemLegacySandbox(scenario=make_scenario(D20, D21), clock=clock, max_ciq_days=2) as sb:
        token = web_token(sb)
        base = sb.services_url + "tconnect/controliq/api/therapytimeline/users/%s" % GUID
        auth = {"Authorization": "Bearer " + token}
        assert session().get(base + "?startDate=10-20-2021&endDate=10-21-2021", headers=auth).status_code == 200
        r = session().get(base + "?endDate=10-21-2021&startDate=10-20-2021", headers=auth)
        assert r.status_code == 403 and "403 Forbidden" in r.text               # the WAF
        r = requests.get(base + "?startDate=10-20-2021&endDate=10-21-2021", headers=auth)   # python UA
        assert r.status_code == 403
        assert session().get(base + "?startDate=10-20-2021&endDate=10-21-2021").status_code == 401
        r = session().get(base + "?startDate=10-20-2021&endDate=10-21-2021", headers={"Authorization": "Bearer x"})
        assert r.status_code == 401 and r.json()["name"] == "invalid_token"
        assert session().get(base + "?startDate=2021-10-20&endDate=10-21-2021", headers=auth).status_code == 400
        assert session().get(base + "?startDate=10-21-2021&endDate=10-20-2021", headers=auth).status_code == 400
        assert ciq(sb, "therapytimeline", D20, D21, token, guid="11111111-2222-4333-8444-555555555555"
                   ).status_code == 404
        r = ciq(sb, "therapytimeline", D20, dt.date(2021, 10, 22), token)
        assert r.status_code == 500 and r.json() == {"messages": ["An error occurred. Try it again."]}
        # an Android token is accepted too (as upstream v1.0.0 uses it)
        android = android_login(sb).json()["accessToken"]
        assert ciq(sb, "therapytimeline", D20, D21, android).status_code == 200
        # expiry by the clock, and expire_tokens()
        clock.t += 8 * 3600 + 1
        r = ciq(sb, "therapytimeline", D20, D21, token)
        assert r.status_code == 401 and r.json() == TOKEN_EXPIRED
        token = web_token(sb)
        assert ciq(sb, "therapytimeline", D20, D21, token).status_code == 200
        sb.expire_tokens()
        assert ciq(sb, "therapytimeline", D20, D21, token).status_code == 401
        assert ciq(sb, "therapytimeline", D20, D21, web_token(sb)).status_code == 200


def test_ws2_windows_and_android_endpoints():
    sc = make_scenario(D20, dt.date(2021, 10, 25))
    with TandemLegacySandbox(scenario=sc) as sb:
        assert ws2(sb, "csv", D20, D21).status_code == 200
        r = ws2(sb, "csv", D20, dt.date(2021, 10, 22))
        assert r.status_code == 500                        # the backend times out on long windows
        assert ws2(sb, "susp", D20, dt.date(2021, 10, 25)).status_code == 200
        assert session().get(sb.ws2_url + "therapytimeline2csv/%s/2021-10-20/10-21-2021?format=csv" % GUID
                             ).status_code == 400
        unknown = ws2(sb, "csv", D20, D21, guid="11111111-2222-4333-8444-555555555555")
        assert unknown.status_code == 200 and len(csv_blocks(unknown.text)) == 1
        token = android_login(sb).json()["accessToken"]
        auth = {"Authorization": "Bearer " + token}
        r = requests.get(sb.services_url + "cloud/upload/getlasteventuploaded?sn=11111111", headers=auth)
        assert r.json() == {"maxPumpEventIndex": sc.max_event_index(), "processingStatus": 1}
        assert requests.get(sb.services_url + "cloud/upload/getlasteventuploaded?sn=22222222",
                            headers=auth).status_code == 404
        web = {"Authorization": "Bearer " + web_token(sb)}
        assert requests.get(sb.services_url + "cloud/upload/getlasteventuploaded?sn=11111111",
                            headers=web).status_code == 401
        assert requests.get(sb.services_url + "cloud/usersettings/api/UserProfile?userId=" + GUID,
                            headers=auth).json()["userID"] == GUID
        assert requests.get(sb.services_url + "cloud/usersettings/api/therapythresholds?userId=" + GUID,
                            headers=auth).status_code == 200
        assert requests.get(sb.services_url + "cloud/account/patient_info", headers=auth).status_code == 200
        sb.expire_tokens()
        r = requests.get(sb.services_url + "cloud/account/patient_info", headers=auth)
        assert r.status_code == 401 and r.json() == TOKEN_EXPIRED
        assert therapy_events(sb, D20, D21, token).status_code == 401


# ---------------------------------------------------------------------------- faults and observability

def test_fault_injection_and_counts():
    with TandemLegacySandbox(scenario=make_scenario(D20, D21)) as sb:
        sb.fail_next("ws2", 2)
        assert [ws2(sb, "susp", D20, D21).status_code for _ in range(3)] == [500, 500, 200]
        sb.fail_next("services", 1, status=429, headers={"Retry-After": "7"}, body='{"error":"slow down"}')
        r = requests.get(sb.services_url + "cloud/account/patient_info")
        assert r.status_code == 429 and r.headers["Retry-After"] == "7" and r.json() == {"error": "slow down"}
        sb.drop_next("ws2", 1)
        with pytest.raises(requests.ConnectionError):
            ws2(sb, "susp", D20, D21)
        assert ws2(sb, "susp", D20, D21).status_code == 200
        token = web_token(sb)
        rule = sb.fail_when(lambda host, method, path, query: 500 if host == "services" and "therapytimeline" in
                            path and D21 in _dates(request_window(path, query)) else None)
        assert ciq(sb, "therapytimeline", D20, D20, token).status_code == 200
        assert ciq(sb, "therapytimeline", D20, D21, token).status_code == 500
        sb.remove_fault(rule)
        assert ciq(sb, "therapytimeline", D20, D21, token).status_code == 200
        sb.down = "ws2"
        with pytest.raises(requests.ConnectionError):
            ws2(sb, "susp", D20, D21)
        assert ciq(sb, "therapytimeline", D20, D20, token).status_code == 200
        sb.down = False
        assert ws2(sb, "susp", D20, D21).status_code == 200
        sb.reset_counts()
        ws2(sb, "susp", D20, D21)
        web_token(sb)
        assert sb.request_counts == {"web": 2, "ws2": 1, "services": 0}
        assert sb.request_log[0] == ("ws2", "GET", "/basalsuspension/%s/10-20-2021/10-21-2021/?callback=cb" % GUID)
        sb.latency = 0.2
        t0 = time.monotonic()
        ws2(sb, "iqtech", D20, D21)
        assert time.monotonic() - t0 >= 0.2


def _dates(window):
    if not window:
        return []
    a, b = window
    return [a + dt.timedelta(days=i) for i in range((b - a).days + 1)]


def test_cutoff_moves_and_scenario_swaps_while_running():
    sc = make_scenario(dt.date(2021, 10, 1), dt.date(2021, 10, 31), seed=2)
    ext = [b for b in sc.truth_boluses() if b.extended][1]
    day = ext.request_time.astimezone(timeutil.get_zone("America/New_York")).date()
    sc.set_cutoff(ext.extended_start + dt.timedelta(minutes=15))
    with TandemLegacySandbox(scenario=sc) as sb:
        token = web_token(sb)
        android = {"Authorization": "Bearer " + android_login(sb).json()["accessToken"]}
        index_url = sb.services_url + "cloud/upload/getlasteventuploaded?sn=11111111"

        def newest_segment():
            body = ciq(sb, "therapytimeline", day, day, token).json()
            return max((x for v in body["basal"].values() for x in v), key=lambda x: x["x"])

        def the_bolus():
            events = therapy_events(sb, day, day, token).json()["event"]
            return [e for e in events if e["type"] == "Bolus" and e["standard"]["bolusRequestId"] ==
                    int(ext.request_id)][0]

        index1 = requests.get(index_url, headers=android).json()["maxPumpEventIndex"]
        seg1 = newest_segment()
        running = the_bolus()["bolex"]
        assert running["extendedBolusIsComplete"] == 0 and "insulinDelivered" not in running
        sc.set_cutoff(sc.cutoff + dt.timedelta(minutes=2))
        seg2 = newest_segment()
        if seg2["x"] == seg1["x"]:
            assert seg2["duration"] == seg1["duration"] + 120
        else:
            assert seg2["x"] > seg1["x"]
        sc.set_cutoff(ext.extended_end + dt.timedelta(minutes=5))
        done = the_bolus()["bolex"]
        assert done["extendedBolusIsComplete"] == 1 and done["insulinDelivered"]["value"] == ext.extended_delivered
        row = [r for r in csv.reader(ws2(sb, "csv", day, day).text.split("\n"))
               if r and r[0] == "Bolus" and r[4] == "%s.000" % ext.request_id][0]
        assert row[20] == "Completed" and row[21] == "1" and row[16]
        assert requests.get(index_url, headers=android).json()["maxPumpEventIndex"] > index1
        sb.scenario = make_scenario(D20, D21, serial="22222222")
        assert requests.get(sb.services_url + "cloud/upload/getlasteventuploaded?sn=22222222",
                            headers=android).status_code == 200


def test_a_year_of_history_is_cheap():
    start = time.monotonic()
    sc = make_scenario(dt.date(2021, 1, 1), dt.date(2021, 12, 31), boluses_per_day=10)
    with TandemLegacySandbox(scenario=sc) as sb:
        token = web_token(sb)
        assert ciq(sb, "therapytimeline", dt.date(2021, 12, 30), dt.date(2021, 12, 31), token).status_code == 200
        assert ws2(sb, "csv", dt.date(2021, 12, 30), dt.date(2021, 12, 31)).status_code == 200
    assert time.monotonic() - start < 20
    assert sc._plan.cache_info().currsize <= 160 and sc._period.cache_info().currsize <= 48


def test_a_suspension_across_midnight_is_repeated_at_midnight():
    sc = make_scenario(dt.date(2021, 10, 1), dt.date(2021, 10, 30))
    tz = timeutil.get_zone("America/New_York")
    manual = [s for s in sc.truth_suspensions() if s.reason == "manual"
              and s.start.astimezone(tz).date() != s.end.astimezone(tz).date()][0]
    day = manual.end.astimezone(tz).date()
    midnight = timeutil.localize(dt.datetime.combine(day, dt.time()), tz)
    x0 = timeutil.encode_pseudo_epoch(dt.datetime.combine(day, dt.time()))
    with TandemLegacySandbox(scenario=sc) as sb:
        token = web_token(sb)
        body = ciq(sb, "therapytimeline", day, day, token).json()
        assert {"suspendReason": "manual", "continuation": "previous", "x": x0} in body["suspensionDeliveryEvents"]
        starts = [x["x"] for v in body["basal"].values() for x in v]
        assert x0 not in starts                                   # no delivery while suspended
        resumed = timeutil.encode_pseudo_epoch(manual.end.astimezone(tz).replace(tzinfo=None))
        assert resumed in starts
        both = ciq(sb, "therapytimeline", day - dt.timedelta(days=1), day, token).json()["suspensionDeliveryEvents"]
        started = timeutil.encode_pseudo_epoch(manual.start.astimezone(tz).replace(tzinfo=None))
        assert [x["continuation"] for x in both if x["x"] in (started, x0)] == [None, "previous"]
        rows = jsonp(ws2(sb, "susp", day, day).text)["BasalSuspension"]
        assert {"Continuation": "continuation", "EventDateTime": "/Date(%d-0000)/" % (x0 * 1000),
                "SuspendReason": "previous"} in rows
        assert timeutil.decode_pseudo_epoch(x0, tz) == midnight
