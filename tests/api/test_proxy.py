"""Proxies from the environment, and never .netrc (tconnectsync.http).

A tiny forwarding HTTP proxy on 127.0.0.1 in the test carries the client's requests to a fake
Nightscout on 127.0.0.1; what each of them received is what is asserted.
"""
import http.client
import http.server
import logging
import socket
import threading
import urllib.parse

import pytest

from tconnectsync.errors import TransientError
from tconnectsync.http import HttpClient, describe_proxy, environ_proxies
from tconnectsync.nightscout import NightscoutClient
from tconnectsync.sandbox.nightscout import FakeNightscout

SECRET = "a-long-secret!"
PROXY_PASSWORD = "Proxy-Pass-9f3"
NETRC_PASSWORD = "Netrc-Pass-77c"


class Proxy:
    """A forwarding proxy (absolute-URI requests) that records what it was sent; a request with
    a plain path is answered ``200 {}`` by the proxy itself, so it doubles as a plain server."""

    def __init__(self):
        self.received = []            # (method, target, headers)
        proxy = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def _any(self):
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else None
                proxy.received.append((self.command, self.path, dict(self.headers)))
                if not self.path.startswith("http://"):
                    self._answer(200, {"Content-Type": "application/json"}, b"{}")
                    return
                target = urllib.parse.urlsplit(self.path)
                assert target.hostname == "127.0.0.1"           # the test's own sandbox, nothing else
                upstream = http.client.HTTPConnection(target.hostname, target.port, timeout=10)
                headers = {k: v for k, v in self.headers.items()
                           if k.lower() not in ("proxy-authorization", "proxy-connection", "connection")}
                path = target.path + ("?" + target.query if target.query else "")
                upstream.request(self.command, path, body=body, headers=headers)
                answer = upstream.getresponse()
                data = answer.read()
                upstream.close()
                self._answer(answer.status, {"Content-Type": answer.getheader("Content-Type") or ""}, data)

            def _answer(self, status, headers, data):
                self.send_response(status)
                for k, v in headers.items():
                    self.send_header(k, v)
                self.send_header("Content-Length", str(len(data)))
                self.send_header("Connection", "close")
                self.end_headers()
                self.wfile.write(data)

            do_GET = do_POST = do_PUT = do_DELETE = _any

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def url(self, credentials=""):
        return "http://%s127.0.0.1:%d" % (credentials, self.port)


@pytest.fixture
def proxy():
    p = Proxy()
    p.thread.start()
    yield p
    p.server.shutdown()
    p.server.server_close()


@pytest.fixture
def nightscout():
    with FakeNightscout(api_secret=SECRET, flavor="15.0.7") as ns:
        yield ns


def test_http_proxy_carries_the_requests(monkeypatch, proxy, nightscout):
    monkeypatch.setenv("HTTP_PROXY", proxy.url())
    client = NightscoutClient(nightscout.url, SECRET)
    assert client.verify_auth()["ok"] is True
    targets = [r[1] for r in proxy.received]
    assert targets and all(t.startswith(nightscout.url.rstrip("/") + "/api/v1/") for t in targets)
    assert [p for _, p in nightscout.request_log] == ["/api/v1/verifyauth"]


def test_lower_case_variable_and_proxy_credentials(monkeypatch, proxy, nightscout):
    monkeypatch.setenv("http_proxy", proxy.url("user:%s@" % PROXY_PASSWORD))
    NightscoutClient(nightscout.url, SECRET).status()
    assert len(proxy.received) == 1
    assert proxy.received[0][2].get("Proxy-Authorization", "").startswith("Basic ")


@pytest.mark.parametrize("no_proxy", ["127.0.0.1", "*", "localhost,127.0.0.0/8"])
def test_no_proxy_bypasses_the_proxy(monkeypatch, proxy, nightscout, no_proxy):
    monkeypatch.setenv("HTTP_PROXY", proxy.url())
    monkeypatch.setenv("NO_PROXY", no_proxy)
    NightscoutClient(nightscout.url, SECRET).status()
    assert proxy.received == []
    assert [p for _, p in nightscout.request_log] == ["/api/v1/status.json"]


def test_no_proxy_hosts_and_suffixes(monkeypatch):
    monkeypatch.setenv("HTTPS_PROXY", "http://proxy.invalid:3128")
    monkeypatch.setenv("NO_PROXY", "example.com, .example.org,my-nightscout.net")
    assert environ_proxies("https://source.tandemdiabetes.com/x") == {"https": "http://proxy.invalid:3128"}
    assert environ_proxies("https://api.example.com/x") == {}
    assert environ_proxies("https://example.com/x") == {}
    assert environ_proxies("https://a.example.org/x") == {}
    assert environ_proxies("https://my-nightscout.net/api") == {}
    assert environ_proxies("http://my-nightscout.net/api") == {}          # no HTTP_PROXY set at all
    assert environ_proxies("https://notexample.com/x") != {}


def test_netrc_credentials_are_never_sent(monkeypatch, tmp_path, proxy):
    netrc = tmp_path / ".netrc"
    netrc.write_text("machine 127.0.0.1 login someone password %s\ndefault login any password %s\n"
                     % (NETRC_PASSWORD, NETRC_PASSWORD))
    netrc.chmod(0o600)
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.setenv("NETRC", str(netrc))
    http = HttpClient("test")
    assert http.request("GET", proxy.url() + "/direct").status_code == 200       # no proxy: straight there
    monkeypatch.setenv("HTTP_PROXY", proxy.url())
    assert http.request("GET", "http://127.0.0.1:%d/through" % proxy.port).status_code == 200
    # the direct request, the proxied one, and the proxy's forward of it to itself (the "target")
    assert [r[1] for r in proxy.received] == ["/direct", "http://127.0.0.1:%d/through" % proxy.port, "/through"]
    for _, _, headers in proxy.received:
        assert "Authorization" not in headers
        assert NETRC_PASSWORD not in repr(headers)


def test_an_unreachable_proxy_is_named_without_its_password(monkeypatch, caplog, nightscout):
    with socket.socket() as sock:           # a port nothing listens on once the socket is closed
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    monkeypatch.setenv("HTTP_PROXY", "http://user:%s@127.0.0.1:%d" % (PROXY_PASSWORD, port))
    caplog.set_level(logging.DEBUG)
    http = HttpClient("Nightscout", attempts=2, sleep=lambda s: None)
    with pytest.raises(TransientError) as info:
        NightscoutClient(nightscout.url, SECRET, http=http).status()
    message = str(info.value)
    assert "through the proxy 127.0.0.1:%d" % port in message
    assert "NO_PROXY" in message
    assert PROXY_PASSWORD not in message and PROXY_PASSWORD not in caplog.text
    assert "user" not in message
    assert nightscout.request_log == []


def test_describe_proxy_drops_credentials():
    assert describe_proxy("http://me:pw@proxy.corp:3128") == "proxy.corp:3128"
    assert describe_proxy("proxy.corp:8080") == "proxy.corp:8080"
    assert describe_proxy("https://proxy.corp") == "proxy.corp"


@pytest.fixture
def tls_server(tmp_path):
    """An HTTPS server on 127.0.0.1 with a self-signed certificate (openssl), as a TLS-inspecting
    company proxy presents: only a client told about its CA (the bundle) accepts it."""
    import shutil
    import ssl
    import subprocess
    if not shutil.which("openssl"):
        pytest.skip("openssl is needed to make a test certificate")
    cert, key = tmp_path / "ca.pem", tmp_path / "key.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", str(key), "-out", str(cert),
                    "-days", "1", "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1"],
                   check=True, capture_output=True)

    class Handler(http.server.BaseHTTPRequestHandler):
        def log_message(self, *args):
            pass

        def do_GET(self):
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", "2")
            self.end_headers()
            self.wfile.write(b"{}")

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(str(cert), str(key))
    server.socket = context.wrap_socket(server.socket, server_side=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield "https://127.0.0.1:%d/" % server.server_address[1], cert
    server.shutdown()


@pytest.mark.parametrize("variable", ["REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE"])
def test_a_ca_bundle_from_the_environment_is_trusted_as_requests_and_pip_do(tls_server, monkeypatch, variable):
    url, cert = tls_server
    client = HttpClient("Test", timeout=5, attempts=1, sleep=lambda s: None)
    monkeypatch.delenv("REQUESTS_CA_BUNDLE", raising=False)
    monkeypatch.delenv("CURL_CA_BUNDLE", raising=False)
    with pytest.raises(TransientError):                 # an unknown CA: refused, as it must be
        client.request("GET", url)
    monkeypatch.setenv(variable, str(cert))
    assert client.request("GET", url).json() == {}
