"""The region table is the one place Tandem Source's hosts live, and reading it stays cheap."""
import subprocess
import sys

import pytest

import tconnectsync.api.tandemsource as tandemsource
from tconnectsync import config
from tconnectsync.api.tandemsource import regions


def test_config_takes_its_hosts_from_the_table():
    assert config.SOURCE_HOSTS is regions.SOURCE_HOSTS
    us = regions.REGIONS["US"]
    assert (config.Config.sso_url, config.Config.source_url) == (us.sso_url, us.source_url)
    assert set(regions.REGIONS) == set(config.REGIONS)


def test_every_region_is_complete_and_https():
    for name, region in regions.REGIONS.items():
        assert region.name == name
        for url in (region.sso_url, region.services_url, region.source_url):
            assert url.startswith("https://") and url.endswith("/")
        assert region.issuer == region.services_url + "accounts/api"
        assert region.redirect_on in ("sso", "source") and region.client_id


def test_importing_config_loads_no_client():
    code = ("import sys, tconnectsync.config; "
            "print(sorted(m for m in ('requests', 'jwt', 'tconnectsync.api.tandemsource.client') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


def test_the_package_exports_its_public_names_on_use():
    assert tandemsource.TandemSourceApi.__module__ == "tconnectsync.api.tandemsource.client"
    assert tandemsource.ISSUERS is regions.ISSUERS
    assert set(tandemsource.__all__) <= set(dir(tandemsource))
    with pytest.raises(AttributeError, match="NoSuchName"):
        tandemsource.NoSuchName
