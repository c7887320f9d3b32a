"""The README's deployment recipes, found by their ``<!-- name -->`` markers, as the tests run them."""
import os
import re

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def readme_block(marker):
    """The fenced block right after ``<!-- marker -->`` in README.md."""
    with open(os.path.join(REPO, "README.md"), encoding="utf-8") as fh:
        text = fh.read()
    m = re.search(r"<!-- %s -->\s*```[a-z]*\n(.*?)```" % re.escape(marker), text, re.S)
    assert m, "README has no block after <!-- %s -->" % marker
    return m.group(1)
