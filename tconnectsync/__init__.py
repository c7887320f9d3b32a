"""tconnectsync: Tandem pump data to Nightscout."""
import sys

# setup.py admits the same versions; this catches `python main.py` from a checkout on an older one.
MIN_PYTHON = (3, 10)
if sys.version_info < MIN_PYTHON:  # pragma: no cover - exercised by running an old interpreter
    sys.exit("tconnectsync needs Python %d.%d or newer; this is Python %s. Install a newer Python "
             "(or use the Docker image) and run it with that." % (MIN_PYTHON + (sys.version.split()[0],)))

try:
    from importlib.metadata import PackageNotFoundError, version as _version
    try:
        __version__ = _version("tconnectsync")
    except PackageNotFoundError:          # running from a checkout without installing
        __version__ = "2.2.0"
except ImportError:                      # pragma: no cover
    __version__ = "2.2.0"
