"""The t:connect website login (ASP.NET WebForms): the user GUID and the Control:IQ token."""
import html.parser
import json
import logging
import time
import urllib.parse

from ...errors import AccountLocked, BadCredentials, TandemError, TandemFormatError
from ...http import BROWSER_UA, StatusErrors, join_url
from ..common import relogin_at, send_login
from .common import PasswordLogin, parse_expiry

logger = logging.getLogger(__name__)

LOGIN_PATH = "login.aspx?ReturnUrl=%2f"
HIDDEN_FIELDS = ("__VIEWSTATE", "__VIEWSTATEGENERATOR", "__EVENTVALIDATION")


class _LoginPage(html.parser.HTMLParser):
    """Collects the hidden form fields and the text of the ``.notice_error`` element."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.fields = {}
        self.error_depth = 0
        self.error_text = []

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "input" and attrs.get("id") in HIDDEN_FIELDS:
            self.fields[attrs["id"]] = attrs.get("value") or ""
        classes = (attrs.get("class") or "").split()
        if self.error_depth:
            self.error_depth += 1
        elif "notice_error" in classes:
            self.error_depth = 1

    def handle_endtag(self, tag):
        if self.error_depth:
            self.error_depth -= 1

    def handle_data(self, data):
        if self.error_depth:
            self.error_text.append(data)


def parse_login_page(text):
    page = _LoginPage()
    page.feed(text)
    return page.fields, " ".join(" ".join(page.error_text).split())


def client_state(value):
    # Telerik RadTextBox client state; built as JSON so quotes and backslashes stay valid.
    return json.dumps({"enabled": True, "emptyMessage": "", "validationText": value,
                       "valueAsString": value, "lastSetTextBoxValue": value}, separators=(",", ":"))


def is_waf_block(text):
    return "Web Page Blocked!" in text or "Attack ID:" in text


def _login_page_error(response, what):
    if is_waf_block(response.text):
        return TandemError("Tandem's firewall blocked the t:connect login page; wait an hour before trying again.",
                           response.status_code)
    return TandemError("The t:connect login page answered HTTP %d." % response.status_code, response.status_code)


LOGIN_PAGE_ERRORS = StatusErrors(default=_login_page_error)
AFTER_LOGIN_ERRORS = StatusErrors(ok=(200, 302), default=lambda response, what: TandemError(
    "t:connect answered HTTP %d after login." % response.status_code, response.status_code))


class WebLogin(PasswordLogin):
    """Logs in to the t:connect website and keeps the session's GUID and token."""

    def __init__(self, http, base_url, email, password, limiter, clock=time.time):
        super().__init__(http, base_url, email, password, limiter, clock)
        self.user_guid = None
        self.http.session.headers.update({"User-Agent": BROWSER_UA})

    def __repr__(self):
        return "<WebLogin %s>" % ("logged in" if self.user_guid else "not logged in")

    @property
    def login_url(self):
        return join_url(self.base_url, LOGIN_PATH)

    def needs_login(self):
        if not self.user_guid:
            return True
        if self.access_token and self.expires_at is not None:
            return self.clock() >= self.renew_at
        return False

    def login(self):
        url = self.login_url
        self.limiter.check_refused("t:connect")
        page = self.http.request("GET", url, errors=LOGIN_PAGE_ERRORS)
        if is_waf_block(page.text):
            raise TandemError("Tandem's firewall blocked the t:connect login page; wait an hour before trying again.")
        fields, _ = parse_login_page(page.text)
        missing = [f for f in HIDDEN_FIELDS if f not in fields]
        if missing:
            raise TandemFormatError("The t:connect login page has no %s field; the website changed." % missing[0])
        form = [
            ("__LASTFOCUS", ""),
            ("__EVENTTARGET", "ctl00$ContentBody$LoginControl$linkLogin"),
            ("__EVENTARGUMENT", ""),
            ("__VIEWSTATE", fields["__VIEWSTATE"]),
            ("__VIEWSTATEGENERATOR", fields["__VIEWSTATEGENERATOR"]),
            ("__EVENTVALIDATION", fields["__EVENTVALIDATION"]),
            ("ctl00$ContentBody$LoginControl$txtLoginEmailAddress", self.email),
            ("txtLoginEmailAddress_ClientState", client_state(self.email)),
            ("ctl00$ContentBody$LoginControl$txtLoginPassword", self._password),
            ("txtLoginPassword_ClientState", client_state(self._password)),
        ]
        response = send_login(self.http, self.limiter, "t:connect", lambda: self.http.request(
            "POST", url, data=form, allow_redirects=False, retry=False, headers={"Referer": url}))  # credentials
        try:
            self._read_login_answer(url, response)
        except (AccountLocked, BadCredentials) as exc:
            self.limiter.refuse("t:connect", exc)
            raise

    def _read_login_answer(self, url, response):
        if response.status_code == 200:
            fields, error = parse_login_page(response.text)
            if "max attempted logins" in error.lower():
                raise AccountLocked("t:connect locked the account after too many logins (\"Max attempted "
                                    "logins exceeded.\"); wait a few hours before running tconnectsync again.")
            if is_waf_block(response.text):
                raise TandemError("Tandem's firewall blocked the t:connect login; wait an hour before trying again.")
            if not fields and not error:
                # Not the login page re-rendered (which is how t:connect refuses a password):
                # a maintenance or portal page says nothing about the password, and is never
                # remembered as a refusal (api/common.py), so a later run tries again.
                raise TandemError("The t:connect login answered a page that is not its login form (HTTP 200); "
                                  "this says nothing about your password: try again later.", 200)
            raise BadCredentials("t:connect refused the e-mail address or password: check TCONNECT_EMAIL and "
                                 "TCONNECT_PASSWORD (log in at the t:connect website to be sure).")
        if response.status_code != 302:
            raise TandemError("The t:connect login answered HTTP %d instead of a redirect." % response.status_code,
                              response.status_code)
        cookies = response.cookies
        guid = cookies.get("UserGUID")
        if not guid:
            raise TandemFormatError("The t:connect login did not set the UserGUID cookie; the website changed.")
        self.user_guid = guid
        self.access_token = cookies.get("accessToken")
        self.expires_at = parse_expiry(cookies.get("accessTokenExpiresAt"))
        if self.access_token and self.expires_at is None:
            self.expires_at = self.clock() + 3600
        self.renew_at = relogin_at(self.expires_at, self.clock()) if self.expires_at else 0
        target = urllib.parse.urljoin(url, response.headers.get("Location") or "/")
        # The page load after the login posts no form: safe to repeat.
        self.http.request("POST", target, allow_redirects=False, headers={"Referer": url}, retry=True,
                          errors=AFTER_LOGIN_ERRORS)
        logger.info("Logged in to t:connect%s", "" if self.access_token else " (no Control:IQ token cookie)")
