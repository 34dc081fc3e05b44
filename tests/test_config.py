import pytest

from autowebinar_wp import create_app
from autowebinar_wp.errors import ConfigError
from autowebinar_wp.services import services
from tests.support import clear_config_env

SECRET = "s" * 40


def make(tmp_path, monkeypatch, env=None, test_config=None, toml=None):
    clear_config_env(monkeypatch)
    for key, value in (env or {}).items():
        monkeypatch.setenv(key, value)
    config_file = None
    if toml is not None:
        config_file = tmp_path / "autowebinar.toml"
        config_file.write_text(toml)
    return create_app(test_config, config_file=str(config_file) if config_file else None,
                      instance_path=str(tmp_path / "instance"))


def test_defaults_then_toml_then_env(tmp_path, monkeypatch) -> None:
    app = make(
        tmp_path, monkeypatch,
        env={"AUTOWEBINAR_EMBED_SECRET": SECRET, "AUTOWEBINAR_VIDEO_DURATION_SEC": "120",
             "AUTOWEBINAR_REF_META_KEYS": "ref,wh_ref"},
        toml='TITLE = "From TOML"\nVIDEO_DURATION_SEC = 90\nLOCALE = "en"\n',
    )
    assert app.config["TITLE"] == "From TOML"
    assert app.config["VIDEO_DURATION_SEC"] == 120  # env beats TOML
    assert app.config["CTA_AT_SEC"] == 120  # defaults to the end of the video
    assert app.config["LOCALE"] == "en"
    assert app.config["REF_META_KEYS"] == ["ref", "wh_ref"]
    assert app.config["TABLE_PREFIX"] == "wp_"


def test_missing_secret_outside_demo_is_a_clear_error(tmp_path, monkeypatch) -> None:
    with pytest.raises(ConfigError) as info:
        make(tmp_path, monkeypatch)
    assert "EMBED_SECRET is not set" in str(info.value)


def test_demo_mode_generates_and_keeps_secrets(tmp_path, monkeypatch) -> None:
    first = make(tmp_path, monkeypatch, env={"AUTOWEBINAR_DEMO": "1"})
    second = make(tmp_path, monkeypatch, env={"AUTOWEBINAR_DEMO": "true"})
    assert len(first.config["EMBED_SECRET"]) >= 32
    assert first.config["EMBED_SECRET"] == second.config["EMBED_SECRET"]
    assert first.config["WEBHOOK_SECRET"].startswith("whsec_")


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"AUTOWEBINAR_EMBED_SECRET": "short"}, "at least 32"),
        ({"AUTOWEBINAR_TABLE_PREFIX": "wp_; DROP TABLE x"}, "TABLE_PREFIX"),
        ({"AUTOWEBINAR_VIDEO_DURATION_SEC": "0"}, "VIDEO_DURATION_SEC must be >= 1"),
        ({"AUTOWEBINAR_DATABASE_TIMEOUT_SEC": "0"}, "DATABASE_TIMEOUT_SEC must be >= 1"),
        ({"AUTOWEBINAR_VIDEO_DURATION_SEC": "ten"}, "VIDEO_DURATION_SEC must be an integer"),
        ({"AUTOWEBINAR_CTA_AT_SEC": "999"}, "CTA_AT_SEC (999) is after the end"),
        ({"AUTOWEBINAR_LOCALE": "de"}, "LOCALE must be one of"),
        ({"AUTOWEBINAR_WEBHOOK_URLS": "https://h.example/x"}, "WEBHOOK_SECRET is not"),
        ({"AUTOWEBINAR_WEBHOOK_URLS": "ftp://h.example/x"}, "not http(s)"),
        ({"AUTOWEBINAR_CORE_WEBHOOK_SECRET": "plain"}, "whsec_"),
        ({"AUTOWEBINAR_CTA_URL": "https://p.example/{email}"}, "placeholders"),
        ({"AUTOWEBINAR_REF_META_KEYS": "ref,autowebinar_x"}, "REF_META_KEYS"),
        ({"AUTOWEBINAR_DATABASE_URL": "postgresql://localhost/x"}, "not supported"),
        ({"AUTOWEBINAR_FRAME_ANCESTORS": "https://a.example; script-src *"}, "FRAME_ANCESTORS"),
    ],
)
def test_bad_values_are_reported(tmp_path, monkeypatch, env, message) -> None:
    env = {"AUTOWEBINAR_EMBED_SECRET": SECRET, **env}
    with pytest.raises(ConfigError) as info:
        make(tmp_path, monkeypatch, env=env)
    assert message in str(info.value)


def test_bad_toml_is_a_config_error(tmp_path, monkeypatch) -> None:
    with pytest.raises(ConfigError, match="not valid TOML"):
        make(tmp_path, monkeypatch, env={"AUTOWEBINAR_EMBED_SECRET": SECRET}, toml="TITLE = ")


def test_embedded_default_creates_sqlite_in_instance(tmp_path, monkeypatch) -> None:
    app = make(tmp_path, monkeypatch, env={"AUTOWEBINAR_EMBED_SECRET": SECRET})
    assert services(app).embedded is True
    assert (tmp_path / "instance" / "autowebinar.sqlite3").exists()
    with services(app).engine.connect() as conn:
        indexes = {r[1] for r in conn.exec_driver_sql("PRAGMA index_list('wp_usermeta')")}
    assert {"wp_usermeta_user_id", "wp_usermeta_meta_key"} <= indexes
    response = app.test_client().get("/healthz")
    assert response.status_code == 200
    assert response.get_json() == {"status": "ok"}


def test_healthz_is_503_when_the_database_is_down(tmp_path, monkeypatch) -> None:
    app = make(
        tmp_path, monkeypatch,
        env={"AUTOWEBINAR_EMBED_SECRET": SECRET,
             "AUTOWEBINAR_DATABASE_URL": "mysql+pymysql://nobody@127.0.0.1:1/none"},
    )
    response = app.test_client().get("/healthz")
    assert response.status_code == 503
    assert response.get_json()["status"] == "unavailable"


def test_two_prefixes_can_share_the_embedded_file(tmp_path) -> None:
    from autowebinar_wp.db import create_embedded_schema, embedded_url, make_engine

    engine = make_engine(embedded_url(str(tmp_path)))
    create_embedded_schema(engine, "wp_")
    create_embedded_schema(engine, "wp2_")
    create_embedded_schema(engine, "wp_")  # idempotent
    with engine.connect() as conn:
        names = {r[1] for r in conn.exec_driver_sql("PRAGMA index_list('wp2_usermeta')")}
    engine.dispose()
    assert names == {"wp2_usermeta_user_id", "wp2_usermeta_meta_key"}


def test_captions_from_a_toml_table_or_the_environment(tmp_path, monkeypatch) -> None:
    from autowebinar_wp.media import Caption

    toml = ('[CAPTIONS.ru]\nlabel = "Русский"\nurl = "/captions/ru.vtt"\n'
            '[CAPTIONS.en]\nurl = "https://subs.example/en.vtt"\n')
    app = make(tmp_path, monkeypatch, env={"AUTOWEBINAR_EMBED_SECRET": SECRET}, toml=toml)
    assert app.config["CAPTIONS"] == [Caption("ru", "Русский", "/captions/ru.vtt"),
                                      Caption("en", "English", "https://subs.example/en.vtt")]
    as_json = make(tmp_path, monkeypatch, env={
        "AUTOWEBINAR_EMBED_SECRET": SECRET,
        "AUTOWEBINAR_CAPTIONS": '{"en": {"url": "/en.vtt", "label": "English"}}'})
    assert as_json.config["CAPTIONS"] == [Caption("en", "English", "/en.vtt")]
    nested = make(tmp_path, monkeypatch, env={"AUTOWEBINAR_EMBED_SECRET": SECRET,
                                             "AUTOWEBINAR_CAPTIONS__ru__url": "/ru.vtt"})
    assert nested.config["CAPTIONS"] == [Caption("ru", "Русский", "/ru.vtt")]
    unset = make(tmp_path, monkeypatch, env={"AUTOWEBINAR_EMBED_SECRET": SECRET})
    assert unset.config["CAPTIONS"] is None  # the demo's captions go with the demo video


def test_bad_captions_stop_start_up_with_the_reason(tmp_path, monkeypatch) -> None:
    with pytest.raises(ConfigError, match=r"CAPTIONS\['ru'\].url must be an http\(s\) URL"):
        make(tmp_path, monkeypatch, env={"AUTOWEBINAR_EMBED_SECRET": SECRET,
                                         "AUTOWEBINAR_CAPTIONS": '{"ru": "ftp://x/ru.vtt"}'})
