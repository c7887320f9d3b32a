"""The query language of ``find[...]`` (MongoDB-ish, as Nightscout passes it on), sorting,
and the HTML sanitising 15.0.7 applies to stored strings."""
import html
import html.parser
import re

from .pages import error_page
from .values import BadRequest, is_nan, js_number, truthy


def parse_regex(value):
    """Nightscout's ``parseRegEx``: ``/pattern/flags`` anywhere in the string → a regex."""
    if not isinstance(value, str):
        return value
    match = re.search(r"/(.*)/(.*)", value)
    if not match:
        return value
    pattern, flags = match.groups()
    if set(flags) - set("gimsuy"):
        raise BadRequest(500, error_page(500, "SyntaxError: Invalid flags supplied to RegExp "
                                               "constructor '%s'" % flags), "text/html")
    re_flags = (re.IGNORECASE if "i" in flags else 0) | (re.MULTILINE if "m" in flags else 0) \
        | (re.DOTALL if "s" in flags else 0)
    try:
        return re.compile(pattern, re_flags)
    except re.error as exc:
        raise BadRequest(500, error_page(500, "SyntaxError: Invalid regular expression: %s"
                                               % exc), "text/html")


def walk_leaves(node, fn):
    if isinstance(node, dict):
        return {k: walk_leaves(v, fn) for k, v in node.items()}
    if isinstance(node, list):
        return [walk_leaves(v, fn) for v in node]
    return fn(node)


def _type_rank(value):
    if value is None:
        return 1
    if isinstance(value, bool):
        return 8
    if isinstance(value, (int, float)):
        return 2
    if isinstance(value, str):
        return 3
    if isinstance(value, dict):
        return 4
    if isinstance(value, list):
        return 5
    return 9


def _get_path(doc, path):
    node = doc
    for name in path.split("."):
        if isinstance(node, dict) and name in node:
            node = node[name]
        elif isinstance(node, list):
            values = [item.get(name) for item in node if isinstance(item, dict) and name in item]
            if not values:
                return False, None
            node = values
        else:
            return False, None
    return True, node


def _equal(stored, wanted):
    if isinstance(wanted, re.Pattern):
        if isinstance(stored, list):
            return any(_equal(item, wanted) for item in stored)
        return isinstance(stored, str) and wanted.search(stored) is not None
    if isinstance(stored, list) and not isinstance(wanted, list):
        return any(_equal(item, wanted) for item in stored)
    if _type_rank(stored) != _type_rank(wanted):
        return False
    return stored == wanted


def _compare(stored, op, wanted):
    if isinstance(stored, list):
        return any(_compare(item, op, wanted) for item in stored)
    if _type_rank(stored) != _type_rank(wanted) or _type_rank(stored) not in (2, 3):
        return False
    if is_nan(stored) or is_nan(wanted):
        return False
    return {"$gt": stored > wanted, "$gte": stored >= wanted,
            "$lt": stored < wanted, "$lte": stored <= wanted}[op]


def matches(doc, query):
    """True when ``doc`` satisfies the MongoDB-style ``query`` (the operators Nightscout uses)."""
    for key, cond in query.items():
        if key == "$or":
            if not any(matches(doc, sub) for sub in cond):
                return False
            continue
        if key == "$and":
            if not all(matches(doc, sub) for sub in cond):
                return False
            continue
        present, value = _get_path(doc, key)
        if isinstance(cond, dict) and cond and all(k.startswith("$") for k in cond):
            for op, wanted in cond.items():
                if op in ("$gt", "$gte", "$lt", "$lte"):
                    ok = present and _compare(value, op, wanted)
                elif op == "$eq":
                    ok = present and _equal(value, wanted)
                elif op == "$ne":
                    ok = not (present and _equal(value, wanted))
                elif op == "$exists":
                    ok = present == (truthy(wanted) and wanted not in ("false", "0"))
                elif op == "$in":
                    options = wanted if isinstance(wanted, list) else list(wanted.values()) \
                        if isinstance(wanted, dict) else [wanted]
                    ok = present and any(_equal(value, w) for w in options)
                elif op == "$nin":
                    options = wanted if isinstance(wanted, list) else list(wanted.values()) \
                        if isinstance(wanted, dict) else [wanted]
                    ok = not (present and any(_equal(value, w) for w in options))
                elif op == "$regex":
                    ok = present and _equal(value, parse_regex("/%s/%s" % (wanted, cond.get("$options", ""))))
                elif op == "$options":
                    ok = True
                else:
                    raise BadRequest(500, {"status": 500, "message": "Mongo Error",
                                           "description": "unknown operator: %s" % op})
                if not ok:
                    return False
        elif not (present and _equal(value, cond)):
            if not (cond is None and not present):
                return False
    return True


def sort_docs(docs, sort):
    """Sort like MongoDB (type order, then value); ties keep insertion order.

    ``sort`` maps fields to 1 (ascending) or -1.
    """
    for field, direction in reversed(list(sort.items())):
        reverse = direction != 1

        def key(doc, field=field):
            present, value = _get_path(doc, field)
            rank = _type_rank(value) if present else 0
            if rank in (2, 3):
                return rank, value
            return rank, 0
        docs.sort(key=key, reverse=reverse)
    return docs


# ---------------------------------------------------------------- HTML sanitising (15.x)

class _Purifier(html.parser.HTMLParser):
    """A small stand-in for DOMPurify: drops script-like elements and event attributes."""

    DROP_WITH_CONTENT = {"script", "style", "iframe", "object", "embed", "noscript", "template"}

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.out = []
        self.skipping = 0

    def handle_starttag(self, tag, attrs):
        if tag in self.DROP_WITH_CONTENT:
            self.skipping += 1
            return
        if self.skipping:
            return
        kept = "".join(' %s="%s"' % (name, html.escape(val or "", quote=True))
                       for name, val in attrs
                       if not name.startswith("on") and "javascript:" not in (val or "").lower())
        self.out.append("<%s%s>" % (tag, kept))

    def handle_endtag(self, tag):
        if tag in self.DROP_WITH_CONTENT:
            self.skipping = max(0, self.skipping - 1)
            return
        if not self.skipping:
            self.out.append("</%s>" % tag)

    def handle_data(self, data):
        if not self.skipping:
            self.out.append(data.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;"))


def purify(text):
    if "<" not in text:
        return text
    parser = _Purifier()
    parser.feed(text)
    leftover = parser.rawdata
    parser.rawdata = ""             # an unfinished tag at the end is dropped
    if leftover and not leftover.startswith("<"):
        parser.handle_data(leftover)
    return "".join(parser.out)


def purify_all(value):
    if isinstance(value, dict):
        return {k: purify_all(v) for k, v in value.items()}
    if isinstance(value, list):
        return [purify_all(v) for v in value]
    if isinstance(value, str) and is_nan(js_number(value)):
        return purify(value)
    return value
