"""A real browser (headless Chromium, Debian's package) renders the status page after runs."""
import shutil
import subprocess
import threading

import pytest

from .conftest import APP_SECRET, EMAIL, NS_SECRET, PASSWORD

CHROMIUM = next((p for p in (shutil.which(n) for n in ("chromium", "chromium-browser")) if p), None)
pytestmark = pytest.mark.skipif(
    CHROMIUM is None, reason="Chromium is not installed (apt-get install chromium; .ci/run does it): "
                             "the browser test of the status page is skipped")
WRONG_PASSWORD = "wrong-password-for-the-browser-test"


def chromium(tmp_path, url, *mode):
    args = [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
            "--disable-background-networking", "--disable-component-update", "--disable-sync",
            "--disable-dev-shm-usage", "--hide-scrollbars", "--user-data-dir=%s" % (tmp_path / "chromium-profile"),
            "--window-size=412,915", *mode, url]
    return subprocess.run(args, capture_output=True, text=True, timeout=90)


@pytest.fixture
def served(web_env):
    from werkzeug.serving import make_server
    from tconnectsync.web import quiet_handler
    app = web_env.app()
    server = make_server("127.0.0.1", 0, app, threaded=True, request_handler=quiet_handler())
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield app, "http://127.0.0.1:%d" % server.server_address[1]
    finally:
        server.shutdown()
        server.server_close()


def test_status_page_in_a_browser_after_a_sync_and_a_failed_sync(web_env, served, tmp_path):
    app, base = served
    bearer = {"Authorization": "Bearer " + APP_SECRET}
    assert app.test_client().get("/update", headers=bearer).status_code == 200
    failing = web_env.app(TCONNECT_PASSWORD=WRONG_PASSWORD)
    assert failing.test_client().get("/update", headers=bearer).status_code == 500

    dom = chromium(tmp_path, base + "/", "--dump-dom")
    assert dom.returncode == 0, dom.stderr[-2000:]
    html = dom.stdout
    assert "Last runs" in html and "Tandem login refused" in html and "Healthy" not in html   # the last run failed
    assert html.count('class="badge ok">ok<') == 1
    assert html.count('class="badge bad">failed<') == 1
    assert "refused the e-mail address or password" in html
    assert "BASAL" in html and "BOLUS" in html
    for secret in (APP_SECRET, PASSWORD, NS_SECRET, EMAIL, WRONG_PASSWORD):
        assert secret not in html

    with_secret = chromium(tmp_path, base + "/?secret=" + APP_SECRET, "--dump-dom")
    assert with_secret.returncode == 0
    assert "Logged in to t:connect" in with_secret.stdout                 # logs for the owner
    for secret in (APP_SECRET, PASSWORD, NS_SECRET, EMAIL, WRONG_PASSWORD):
        assert secret not in with_secret.stdout

    shot = tmp_path / "status-page.png"
    result = chromium(tmp_path, base + "/", "--screenshot=%s" % shot)
    assert result.returncode == 0, result.stderr[-2000:]
    assert shot.exists() and shot.stat().st_size > 10000
    assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    print("\nscreenshot: %s" % shot)
