"""The plugin's PHP JWT minter, verified with PyJWT and by the sidecar."""

from __future__ import annotations

import time

import jwt
import pytest

from tests.wordpress.harness import TOKEN_TTL, WordPressSite

pytestmark = pytest.mark.wordpress

OTHER_SECRET = "another-secret-that-is-long-enough-0123456789"


def decode(token: str, secret: str) -> dict[str, object]:
    claims: dict[str, object] = jwt.decode(
        token, secret, algorithms=["HS256"], audience="autowebinar"
    )
    return claims


def php_mint(site: WordPressSite, user_id: int, role: str, **kwargs: object) -> str:
    secret = kwargs.get("secret")
    now = kwargs.get("now")
    if secret is None and now is None:
        token = site.php(f"return autowebinar_mint_token( {user_id}, '{role}' );")
    else:
        token = site.php(
            f"return Autowebinar_Token::mint( {user_id}, '{role}', "
            f"{_php(secret or site.secret)}, {TOKEN_TTL}, {_php(now)} );"
        )
    assert isinstance(token, str)
    return token


def _php(value: object) -> str:
    if value is None:
        return "null"
    if isinstance(value, int):
        return str(value)
    return "'" + str(value).replace("\\", "\\\\").replace("'", "\\'") + "'"


@pytest.mark.parametrize("role", ["viewer", "admin"])
def test_php_minted_token_decodes_with_pyjwt(wp_site: WordPressSite, role: str) -> None:
    user = wp_site.users["viewer"] if role == "viewer" else wp_site.admin
    before = int(time.time())
    token = php_mint(wp_site, user.id, role)
    after = int(time.time())

    assert jwt.get_unverified_header(token) == {"alg": "HS256", "typ": "JWT"}
    claims = decode(token, wp_site.secret)
    assert claims["sub"] == str(user.id)  # a string, as JWT wants
    assert claims["aud"] == "autowebinar"
    assert claims["role"] == role
    assert isinstance(claims["iat"], int) and before <= claims["iat"] <= after
    # admin tokens are never refreshed, so the plugin gives them the hour the service allows
    assert claims["exp"] == claims["iat"] + (TOKEN_TTL if role == "viewer" else 3600)
    assert claims["auth_time"] == claims["iat"]  # WordPress checked the user just now
    assert set(claims) == {"sub", "iat", "exp", "aud", "role", "auth_time"}


def test_php_and_pyjwt_produce_the_same_bytes(wp_site: WordPressSite) -> None:
    """Same claims, same order, same JSON: PHP's token is byte-identical to PyJWT's."""
    now = 1_700_000_000
    token = php_mint(wp_site, 42, "viewer", now=now, secret=wp_site.secret)
    expected = jwt.encode(
        {"sub": "42", "iat": now, "exp": now + TOKEN_TTL, "aud": "autowebinar", "role": "viewer",
         "auth_time": now},
        wp_site.secret,
        algorithm="HS256",
    )
    assert token == expected


def test_wrong_secret_is_refused(wp_site: WordPressSite) -> None:
    token = php_mint(wp_site, wp_site.users["viewer"].id, "viewer")
    with pytest.raises(jwt.InvalidSignatureError):
        decode(token, OTHER_SECRET)
    forged = php_mint(wp_site, wp_site.users["viewer"].id, "admin", secret=OTHER_SECRET)
    with pytest.raises(jwt.InvalidSignatureError):
        decode(forged, wp_site.secret)


def test_expired_token_is_refused(wp_site: WordPressSite) -> None:
    token = php_mint(wp_site, wp_site.users["viewer"].id, "viewer", now=int(time.time()) - 3600)
    with pytest.raises(jwt.ExpiredSignatureError):
        decode(token, wp_site.secret)


def test_minter_rejects_bad_input(wp_site: WordPressSite) -> None:
    result = wp_site.php(
        """
        $out = array();
        $cases = array(
            'role'   => array( 5, 'root', str_repeat( 'k', 40 ) ),
            'user'   => array( 0, 'viewer', str_repeat( 'k', 40 ) ),
            'secret' => array( 5, 'viewer', 'short' ),
        );
        foreach ( $cases as $name => $args ) {
            try {
                Autowebinar_Token::mint( $args[0], $args[1], $args[2], 600 );
                $out[ $name ] = 'minted';
            } catch ( InvalidArgumentException $e ) {
                $out[ $name ] = 'refused';
            }
        }
        return $out;
        """
    )
    assert result == {"role": "refused", "user": "refused", "secret": "refused"}


def test_unconfigured_site_mints_nothing(wp_site: WordPressSite) -> None:
    result = wp_site.php(
        "$t = autowebinar_mint_token( 2 ); "
        "return array( is_wp_error( $t ), is_wp_error( $t ) ? $t->get_error_message() : $t );",
        env={"AUTOWEBINAR_TEST_UNCONFIGURED": "1"},
    )
    assert result[0] is True
    assert "AUTOWEBINAR_SIDECAR_URL is not defined" in result[1]
    assert "AUTOWEBINAR_EMBED_SECRET is not defined" in result[1]


def test_sidecar_accepts_the_php_token_and_refuses_bad_ones(
    wp_site: WordPressSite, sidecar, sidecar_http
) -> None:
    sidecar.require(("GET", "/embed"), ("POST", "/api/v1/session/join"))
    user_id = wp_site.users["viewer"].id
    good = php_mint(wp_site, user_id, "viewer")
    assert sidecar_http.get("/embed", params={"token": good}).status_code == 200

    expired = php_mint(wp_site, user_id, "viewer", now=int(time.time()) - 3600)
    forged = php_mint(wp_site, user_id, "viewer", secret=OTHER_SECRET)
    for bad in (expired, forged, good[:-2] + "xx"):
        page = sidecar_http.get("/embed", params={"token": bad})
        assert page.status_code == 401, bad
        assert "text/html" in page.headers["content-type"]
        api = sidecar_http.post(
            "/api/v1/session/join", headers={"Authorization": f"Bearer {bad}"}, json={}
        )
        assert api.status_code == 401
        assert set(api.json()["error"]) == {"code", "message"}
