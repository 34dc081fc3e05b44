"""The CLI's token command and its clear errors."""

import jwt
import pytest
from click.testing import CliRunner

from autowebinar_wp.cli import main
from tests.support import clear_config_env

SECRET = "cli-secret-0123456789abcdef0123456789abcdef"


@pytest.fixture
def env(monkeypatch, tmp_path):
    clear_config_env(monkeypatch)
    monkeypatch.setenv("AUTOWEBINAR_INSTANCE_PATH", str(tmp_path / "instance"))
    monkeypatch.setenv("AUTOWEBINAR_EMBED_SECRET", SECRET)
    return monkeypatch


@pytest.mark.parametrize(("args", "role", "ttl"), [([], "viewer", 600),
                                                    (["--admin", "--ttl", "60"], "admin", 60)])
def test_token_mints_a_verifiable_token(env, args, role, ttl) -> None:
    result = CliRunner().invoke(main, ["token", "--user-id", "42", *args])
    assert result.exit_code == 0, result.output
    claims = jwt.decode(result.output.strip(), SECRET, algorithms=["HS256"],
                        audience="autowebinar")
    assert claims["sub"] == "42" and claims["role"] == role
    assert claims["exp"] - claims["iat"] == ttl


@pytest.mark.parametrize("args", [["--user-id", "0"], ["--user-id", "x"], [],
                                  ["--user-id", "1", "--ttl", "999999"]])
def test_token_rejects_bad_arguments(env, args) -> None:
    result = CliRunner().invoke(main, ["token", *args])
    assert result.exit_code == 2 and "Traceback" not in result.output


def test_token_without_a_secret_is_a_clear_error(env) -> None:
    env.delenv("AUTOWEBINAR_EMBED_SECRET")
    result = CliRunner().invoke(main, ["token", "--user-id", "1"])
    assert result.exit_code == 2
    assert "EMBED_SECRET is not set" in result.output
