"""Error answers as Nightscout's Express handler writes them, and content negotiation."""
import html


class ErrorPage(str):
    """An answer of Nightscout's error handler (Express ``errorhandler``, both versions).

    The handler picks its format from the request's ``Accept`` header, preferring in this order
    HTML, JSON, plain text: the HTML page for no header, ``*/*`` or ``text/html``;
    ``{"error": {"message", "stack", ...the error's own properties}}`` when JSON is preferred
    (e.g. ``Accept: application/json``, which our client sends); the stack as text otherwise.
    As a ``str`` it is the HTML page. ``message`` is ``"Name: text"`` as the stack's first line;
    ``props`` are the extra properties (body-parser errors carry ``type``, ``status``, ...).
    """

    def __new__(cls, status, message, props=None):
        text = html.escape(message)
        page = ("<html>\n  <head>\n    <meta charset='utf-8'> \n    <title>%s</title>\n  </head>\n"
                "  <body>\n    <div id=\"wrapper\">\n      <h1>Connect</h1>\n"
                "      <h2><em>%d</em> %s</h2>\n    </div>\n  </body>\n</html>\n" % (text, status, text))
        self = super().__new__(cls, page)
        self.status = status
        self.message = message
        self.props = dict(props or {})
        return self

    def negotiate(self, accept):
        """(body, content type) for the request's Accept header."""
        chosen = preferred_type(accept, ("text/html", "application/json", "text/plain"))
        stack = self.message + "\n    at (FakeNightscout)"
        if chosen == "text/html":
            return str(self), "text/html"
        if chosen == "application/json":
            _name, _, text = self.message.partition(": ")
            return {"error": {"message": text or self.message, "stack": stack, **self.props}}, "application/json"
        return stack, "text/plain"


def error_page(status, message, props=None):
    """The error handler's answer (see ``ErrorPage``; its HTML page has the message, no stack)."""
    return ErrorPage(status, message, props)


def preferred_type(accept, offers):
    """The offer an ``Accept`` header prefers (as the npm ``negotiator`` ranks them), else None.

    No header means the first offer. Each offer takes the quality of the most specific matching
    range; the highest quality wins, then the more specific range, then the earlier range, then
    the earlier offer.
    """
    if accept is None or not accept.strip():
        return offers[0]
    ranges = []
    for order, part in enumerate(accept.split(",")):
        bits = [b.strip() for b in part.split(";")]
        if "/" not in bits[0]:
            continue
        kind, sub = (x.strip().lower() for x in bits[0].split("/", 1))
        quality = 1.0
        for bit in bits[1:]:
            name, _, value = bit.partition("=")
            if name.strip().lower() == "q":
                try:
                    quality = float(value)
                except ValueError:
                    quality = 0.0
        ranges.append((kind, sub, quality, order))
    ranked = []
    for index, offer in enumerate(offers):
        kind, sub = offer.split("/")
        best = None
        for r_kind, r_sub, quality, order in ranges:
            if r_kind not in ("*", kind) or r_sub not in ("*", sub):
                continue
            spec = (4 if r_kind == kind else 0) | (2 if r_sub == sub else 0)
            if best is None or (spec, quality) > (best[1], best[0]):
                best = (quality, spec, order)
        if best is not None and best[0] > 0:
            ranked.append((-best[0], -best[1], best[2], index, offer))
    return min(ranked)[-1] if ranked else None


def not_found_page(method, path):
    return ("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
            "<title>Error</title>\n</head>\n<body>\n<pre>Cannot %s %s</pre>\n</body>\n</html>\n"
            % (method, html.escape(path)))
