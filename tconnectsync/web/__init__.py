"""The hosted web app (``pip install tconnectsync[web]``): the same sync and checks as the CLI,
behind a few URLs, for a small server next to Nightscout (Heroku, Render, Fly, a home server).

Served by gunicorn (``web: gunicorn 'tconnectsync.web:create_app()' ...``, see Procfile), or
locally by ``tconnectsync web`` on LISTEN_HOST:LISTEN_PORT (default 127.0.0.1:5000).
"""
import argparse
import logging
import os
import sys

logger = logging.getLogger(__name__)


def create_app(environ=None, **kwargs):
    """The Flask app; see ``tconnectsync.web.app.create_app``."""
    from .app import create_app as _create_app
    return _create_app(environ, **kwargs)


def quiet_handler():
    """A werkzeug request handler that logs method, path and status, never the query string
    (it may carry the secret)."""
    from werkzeug.serving import WSGIRequestHandler

    class QuietHandler(WSGIRequestHandler):
        def log_request(self, code="-", size="-"):
            logging.getLogger("tconnectsync.web.access").info(
                "%s %s %s", self.command, self.path.split("?", 1)[0], getattr(code, "value", code))

    return QuietHandler


def _port(text):
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError("%r is not a port number" % text) from None
    if not 0 <= value <= 65535:
        raise argparse.ArgumentTypeError("the port must be from 0 to 65535")
    return value


def serve(argv=None, environ=None):
    """``tconnectsync web [--host H] [--port P]``: serve the app until interrupted."""
    environ = os.environ if environ is None else environ
    parser = argparse.ArgumentParser(
        prog="tconnectsync web",
        description="Serve the tconnectsync web app (status page, /run, /update, /check_login, /health). "
                    "For a public server use gunicorn, as in the Procfile.")
    parser.add_argument("--host", default=(environ.get("LISTEN_HOST") or "127.0.0.1").strip(),
                        help="address to listen on (LISTEN_HOST, default 127.0.0.1)")
    parser.add_argument("--port", type=_port, default=None,
                        help="port to listen on (LISTEN_PORT, default 5000; 0 picks a free one)")
    args = parser.parse_args(argv)
    port = args.port
    if port is None:
        try:
            port = _port((environ.get("LISTEN_PORT") or "5000").strip())
        except argparse.ArgumentTypeError as exc:
            parser.error("LISTEN_PORT: %s" % exc)
    try:
        from werkzeug.serving import make_server
        from .app import StartupError
    except ImportError:
        print("tconnectsync web: the web app needs Flask: pip install 'tconnectsync[web]'", file=sys.stderr)
        return 2
    try:
        app = create_app(environ)
    except StartupError as exc:
        print("tconnectsync web: %s" % exc, file=sys.stderr)
        return 2

    server = make_server(args.host, port, app, threaded=True, request_handler=quiet_handler())
    host, bound = server.server_address[:2]
    print("tconnectsync web: serving on http://%s:%d/ (Ctrl+C stops)" % (host, bound), flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
        app.extensions["tconnectsync"].shutdown()
    return 0
