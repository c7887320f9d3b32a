import pytest

from tconnectsync.config import load_config
from tconnectsync.errors import ConfigError

GOOD = {
    "TCONNECT_API": "legacy",
    "TCONNECT_EMAIL": "a@example.com", "TCONNECT_PASSWORD": "pw", "PUMP_SERIAL_NUMBER": "11111111",
    "NS_URL": "https://ns.example.com", "NS_SECRET": "0123456789abc", "TIMEZONE_NAME": "America/New_York",
}


def load(env, tmp_path, **kw):
    return load_config(environ=env, cwd=tmp_path, home=tmp_path / "home", **kw)


def test_good_settings(tmp_path):
    c = load(GOOD, tmp_path)
    assert c.ns_url == "https://ns.example.com/"
    assert c.pump_serial == "11111111"
    assert c.web_url == "https://tconnect.tandemdiabetes.com/"
    assert "pw" not in repr(c) and "0123456789abc" not in repr(c)


@pytest.mark.parametrize("name", ["TCONNECT_EMAIL", "TCONNECT_PASSWORD", "PUMP_SERIAL_NUMBER", "NS_URL",
                                  "NS_SECRET", "TIMEZONE_NAME"])
def test_missing_setting_named(tmp_path, name):
    env = dict(GOOD)
    del env[name]
    with pytest.raises(ConfigError) as err:
        load(env, tmp_path)
    assert name in str(err.value)


@pytest.mark.parametrize("name,value,word", [
    ("PUMP_SERIAL_NUMBER", "abc123", "PUMP_SERIAL_NUMBER"),
    ("NS_URL", "ns.example.com", "NS_URL"),
    ("NS_URL", "ftp://ns.example.com", "NS_URL"),
    ("TIMEZONE_NAME", "Mars/Olympus", "TIMEZONE_NAME"),
    ("TCONNECT_API", "nope", "TCONNECT_API"),
    ("TCONNECTSYNC_CHUNK_DAYS", "7", "TCONNECTSYNC_CHUNK_DAYS"),
    ("NS_BATCH_SIZE", "lots", "NS_BATCH_SIZE"),
])
def test_invalid_setting_named(tmp_path, name, value, word):
    env = dict(GOOD, **{name: value})
    with pytest.raises(ConfigError) as err:
        load(env, tmp_path)
    assert word in str(err.value)


def test_fallbacks(tmp_path):
    env = dict(GOOD)
    del env["NS_SECRET"], env["TIMEZONE_NAME"]
    env.update(API_SECRET="fallback-secret-1", TZ="Europe/Berlin")
    c = load(env, tmp_path)
    assert c.ns_secret == "fallback-secret-1"
    assert c.timezone_name == "Europe/Berlin"


def test_env_file_and_precedence(tmp_path):
    (tmp_path / ".env").write_text(
        "TCONNECT_EMAIL=file@example.com\n"
        "TCONNECT_PASSWORD='p\"a$s #w ord'\n"
        "PUMP_SERIAL_NUMBER=22222222\n"
        "NS_URL=https://file.example.com/ns\n"
        "NS_SECRET=\"file secret with # hash\"\n"
        "TIMEZONE_NAME=America/Chicago\n")
    c = load({"PUMP_SERIAL_NUMBER": "33333333"}, tmp_path)
    assert c.email == "file@example.com"
    assert c.password == 'p"a$s #w ord'
    assert c.ns_secret == "file secret with # hash"
    assert c.ns_url == "https://file.example.com/ns/"
    assert c.pump_serial == "33333333"          # the environment wins


def test_home_config_file(tmp_path):
    cfg = tmp_path / "home" / ".config" / "tconnectsync"
    cfg.mkdir(parents=True)
    (cfg / ".env").write_text("\n".join("%s=%s" % kv for kv in GOOD.items()))
    work = tmp_path / "work"
    work.mkdir()
    c = load_config(environ={}, cwd=work, home=tmp_path / "home")
    assert c.email == "a@example.com"
    assert any(".config" in n for n in c.notes)


def test_source_is_the_default_and_serial_is_optional(tmp_path):
    env = {k: v for k, v in GOOD.items() if k not in ("TCONNECT_API", "PUMP_SERIAL_NUMBER")}
    c = load(env, tmp_path)
    assert c.api == "source" and c.pump_serial == ""
    assert c.services_url == "https://tdcservices.tandemdiabetes.com/"
    assert c.source_url == "https://source.tandemdiabetes.com/"
    eu = load(dict(env, TCONNECT_REGION="eu"), tmp_path)
    assert eu.region == "EU" and eu.services_url == "https://tdcservices.eu.tandemdiabetes.com/"
    assert eu.source_url == "https://source.eu.tandemdiabetes.com/"
    with pytest.raises(ConfigError) as err:
        load(dict(env, TCONNECT_REGION="ASIA"), tmp_path)
    assert "TCONNECT_REGION" in str(err.value)
