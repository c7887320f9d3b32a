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


# ---------------------------------------------------------------- lookup: key by key, XDG, state paths

def write_env(path, text, mode=0o600):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    path.chmod(mode)
    return path


def test_files_merge_key_by_key_and_the_environment_wins(tmp_path):
    work, home = tmp_path / "work", tmp_path / "home"
    write_env(work / ".env", "DEBUG=1\nTIMEZONE_NAME=Europe/Berlin\n")
    user = write_env(home / ".config" / "tconnectsync" / ".env",
                     "\n".join("%s=%s" % kv for kv in GOOD.items() if kv[0] != "NS_SECRET") + "\n")
    c = load_config(environ={"NS_SECRET": "from-the-env-123", "HOME": str(home)}, cwd=work)
    assert c.email == "a@example.com"                 # ./.env holding DEBUG=1 hides nothing
    assert c.timezone_name == "Europe/Berlin"         # ./.env wins over the user's file
    assert c.ns_secret == "from-the-env-123"          # the environment wins over both
    files = [n for n in c.notes if n.startswith("settings files read")]
    assert files and str(work / ".env") in files[0] and str(user) in files[0]


def test_an_empty_value_counts_as_unset(tmp_path):
    write_env(tmp_path / ".env", "\n".join("%s=%s" % kv for kv in GOOD.items()) + "\nNS_BATCH_SIZE=\n")
    c = load({"NS_SECRET": "", "TIMEZONE_NAME": "   "}, tmp_path)
    assert c.ns_secret == GOOD["NS_SECRET"] and c.timezone_name == GOOD["TIMEZONE_NAME"]
    assert c.ns_batch_size == 1000


def test_xdg_config_home_is_honoured(tmp_path):
    xdg = tmp_path / "xdg"
    write_env(xdg / "tconnectsync" / ".env", "\n".join("%s=%s" % kv for kv in GOOD.items()))
    write_env(tmp_path / "home" / ".config" / "tconnectsync" / ".env", "TCONNECT_EMAIL=wrong@example.com\n")
    work = tmp_path / "work"
    work.mkdir()
    c = load_config(environ={"XDG_CONFIG_HOME": str(xdg), "HOME": str(tmp_path / "home")}, cwd=work)
    assert c.email == "a@example.com"
    assert any(str(xdg / "tconnectsync" / ".env") in n for n in c.notes)


def test_state_files_default_under_xdg_state_home(tmp_path):
    home = tmp_path / "home"
    c = load_config(environ=dict(GOOD, HOME=str(home)), cwd=tmp_path)
    assert c.token_file == str(home / ".local" / "state" / "tconnectsync" / "tandem-source-tokens.json")
    assert c.status_file == str(home / ".local" / "state" / "tconnectsync" / "status.json")
    state = tmp_path / "state"
    c = load_config(environ=dict(GOOD, HOME=str(home), XDG_STATE_HOME=str(state)), cwd=tmp_path)
    assert c.token_file == str(state / "tconnectsync" / "tandem-source-tokens.json")
    assert c.status_file == str(state / "tconnectsync" / "status.json")
    c = load_config(environ=dict(GOOD, HOME=str(home), XDG_STATE_HOME=str(state), TCONNECTSYNC_STATE_DIR="~/st",
                                 TCONNECTSYNC_TOKEN_FILE="~/t.json"), cwd=tmp_path)
    assert c.token_file == str(home / "t.json")                      # the explicit file wins
    assert c.status_file == str(home / "st" / "status.json")         # then the explicit folder


def test_web_and_status_defaults_come_from_the_same_function(tmp_path):
    from tconnectsync import status
    from tconnectsync.web.settings import load_web_settings
    env = {"HOME": str(tmp_path / "home"), "XDG_STATE_HOME": str(tmp_path / "state")}
    web = load_web_settings(env, cwd=tmp_path)
    assert web.state_dir == tmp_path / "state" / "tconnectsync"
    assert web.status_path == status.default_path(env) == tmp_path / "state" / "tconnectsync" / "status.json"
    env["TCONNECTSYNC_STATUS_FILE"] = str(tmp_path / "s.json")
    assert load_web_settings(env, cwd=tmp_path).status_path == status.default_path(env) == tmp_path / "s.json"


def test_every_missing_setting_is_named_at_once_with_the_places_looked_in(tmp_path):
    with pytest.raises(ConfigError) as err:
        load({"TCONNECT_EMAIL": "a@example.com", "TCONNECT_API": "legacy"}, tmp_path)
    text = str(err.value)
    for name in ("TCONNECT_PASSWORD", "PUMP_SERIAL_NUMBER", "NS_URL", "NS_SECRET", "TIMEZONE_NAME"):
        assert name in text
    assert "TCONNECT_EMAIL" not in text
    assert str(tmp_path / ".env") in text and str(tmp_path / "home" / ".config" / "tconnectsync" / ".env") in text
    assert "the environment" in text and len(text.splitlines()) == 1


def test_a_settings_file_readable_by_others_gets_one_warning(tmp_path, caplog):
    path = write_env(tmp_path / ".env", "\n".join("%s=%s" % kv for kv in GOOD.items()), mode=0o644)
    with caplog.at_level("WARNING"):
        load({}, tmp_path)
    warnings = [r.getMessage() for r in caplog.records if "other users can read" in r.getMessage()]
    assert len(warnings) == 1
    assert "chmod 600 %s" % path in warnings[0]
    assert GOOD["NS_SECRET"] not in caplog.text
    caplog.clear()
    path.chmod(0o600)
    with caplog.at_level("WARNING"):
        load({}, tmp_path)
    assert "other users can read" not in caplog.text


def test_a_readable_file_without_secrets_gets_no_warning(tmp_path, caplog):
    write_env(tmp_path / ".env", "TIMEZONE_NAME=America/New_York\n", mode=0o644)
    with caplog.at_level("WARNING"):
        load({k: v for k, v in GOOD.items() if k != "TIMEZONE_NAME"}, tmp_path)
    assert "other users can read" not in caplog.text


@pytest.mark.parametrize("tz_name,warns", [
    ("EST", True), ("MST", True), ("HST", True), ("Etc/GMT+5", True), ("Etc/GMT-2", True),
    ("UTC", False), ("Etc/UTC", False), ("GMT", False), ("America/New_York", False),
    ("America/Phoenix", False), ("Asia/Kolkata", False),
])
def test_fixed_offset_zones_warn(tmp_path, caplog, tz_name, warns):
    with caplog.at_level("WARNING"):
        c = load(dict(GOOD, TIMEZONE_NAME=tz_name), tmp_path)
    said = "no daylight saving" in caplog.text
    assert said == warns
    if warns:
        assert "America/New_York" in caplog.text and any("no daylight saving" in n for n in c.notes)


@pytest.mark.parametrize("url,ok,warns", [
    ("https://ns.example.com", True, False),
    ("http://127.0.0.1:1337", True, False),
    ("http://localhost:1337/ns", True, False),
    ("http://[::1]:1337", True, False),
    ("http://192.168.1.10:1337", True, True),
    ("http://10.0.0.5", True, True),
    ("http://169.254.10.1", True, True),
    ("http://[fd00::5]", True, True),
    ("http://ns.example.com", False, False),
    ("http://nightscout.local", False, False),
    ("http://8.8.8.8", False, False),
])
def test_http_only_for_loopback_and_private_addresses(tmp_path, caplog, url, ok, warns):
    for name in ("NS_URL", "TANDEM_SOURCE_URL"):
        caplog.clear()
        env = dict(GOOD, TCONNECT_API="source", **{name: url})
        if not ok:
            with pytest.raises(ConfigError) as err:
                load(env, tmp_path)
            assert name in str(err.value) and "https://" in str(err.value)
            continue
        with caplog.at_level("WARNING"):
            load(env, tmp_path)
        assert ("travels unencrypted" in caplog.text) == warns, (name, url)
