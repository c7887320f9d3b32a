"""tconnectsync: Tandem pump data to Nightscout."""
try:
    from importlib.metadata import PackageNotFoundError, version as _version
    try:
        __version__ = _version("tconnectsync")
    except PackageNotFoundError:          # running from a checkout without installing
        __version__ = "2.0.0"
except ImportError:                      # pragma: no cover
    __version__ = "2.0.0"
