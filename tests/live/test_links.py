"""Tracking-link tokens: claims, signature, audience, expiry, tampering (no I/O)."""

from __future__ import annotations

import base64
import json
import os
import re
import shutil
import subprocess
import time
from pathlib import Path

import jwt
import pytest
from hypothesis import given
from hypothesis import strategies as st

from autowebinar_wp import tokens
from autowebinar_wp.errors import LinkExpired, LinkInvalid
from autowebinar_wp.live import links

SECRET = "live-link-secret-0123456789abcdef0123456789"
NOW = 1_800_000_000.0
TARGET = "https://site.example/webinars/?utm_source=crm"


def click(**kwargs: object) -> str:
    return links.mint(SECRET, 42, "reminder-24h", url=TARGET, slot_id="2026-12-10T1900",
                      ttl_sec=3600, now=NOW, **kwargs)  # type: ignore[arg-type]


def test_a_click_link_round_trips_its_documented_claims() -> None:
    token = click()
    claims = jwt.decode(token, SECRET, algorithms=["HS256"], audience="autowebinar-live",
                        options={"verify_exp": False, "verify_iat": False})
    assert claims == {"sub": "42", "aud": "autowebinar-live", "n": "reminder-24h", "u": TARGET,
                      "slot": "2026-12-10T1900", "iat": int(NOW), "exp": int(NOW) + 3600}
    link = links.verify(SECRET, token, now=NOW + 10, click=True)
    assert link == links.Link(42, "reminder-24h", TARGET, "2026-12-10T1900", int(NOW) + 3600)


def test_an_open_pixel_needs_no_target_and_ignores_one() -> None:
    pixel = links.mint(SECRET, 7, "digest", ttl_sec=60, now=NOW)
    assert links.verify(SECRET, pixel, now=NOW, click=False) == links.Link(
        7, "digest", None, None, int(NOW) + 60)
    with pytest.raises(LinkInvalid):
        links.verify(SECRET, pixel, now=NOW, click=True)  # a pixel is no redirect
    assert links.verify(SECRET, click(), now=NOW, click=False).url is None


def test_expiry_is_enforced_with_the_injected_clock() -> None:
    token = click()
    assert links.verify(SECRET, token, now=NOW + 3600, click=True)
    with pytest.raises(LinkExpired):
        links.verify(SECRET, token, now=NOW + 3601, click=True)
    assert links.verify(SECRET, token, now=NOW + 3610, click=True, leeway_sec=10)


def _forge(claims: dict[str, object], secret: str = SECRET, alg: str = "HS256") -> str:
    return jwt.encode(claims, secret, algorithm=alg)


GOOD = {"sub": "42", "aud": "autowebinar-live", "n": "x", "exp": int(NOW) + 60,
        "u": "https://a.example/"}


@pytest.mark.parametrize("token", [
    "", "garbage", "a.b.c", "x" * 5000,
    _forge(GOOD, secret="another-secret-0123456789abcdef0123456789"),    # forged
    _forge({**GOOD, "aud": "autowebinar"}),                               # an embed audience
    _forge({k: v for k, v in GOOD.items() if k != "exp"}),                # never expires
    _forge({k: v for k, v in GOOD.items() if k != "n"}),
    _forge({**GOOD, "sub": "0"}), _forge({**GOOD, "sub": 42}), _forge({**GOOD, "sub": "1 OR 1"}),
    _forge({**GOOD, "n": "bad notification id!"}), _forge({**GOOD, "n": ""}),
    _forge({**GOOD, "u": "javascript:alert(1)"}), _forge({**GOOD, "u": "//evil.example"}),
    _forge({**GOOD, "u": "https://ok.example/\r\nSet-Cookie: x"}),
    _forge({**GOOD, "slot": "../x"}), _forge({**GOOD, "exp": "soon"}),
    _forge({**GOOD, "exp": True}),
    jwt.encode(GOOD, None, algorithm="none"),                              # alg: none
    _forge(GOOD, secret=SECRET * 2, alg="HS512"),                           # not the pinned alg
])
def test_refused(token: str) -> None:
    with pytest.raises(LinkInvalid):
        links.verify(SECRET, token, now=NOW, click=True)


def test_tampered_payload_is_refused() -> None:
    header, body, signature = click().split(".")
    claims = json.loads(base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)))
    claims["u"] = "https://evil.example/"
    evil = base64.urlsafe_b64encode(json.dumps(claims).encode()).rstrip(b"=").decode()
    with pytest.raises(LinkInvalid):
        links.verify(SECRET, f"{header}.{evil}.{signature}", now=NOW, click=True)


def test_no_secret_configured_refuses_everything() -> None:
    with pytest.raises(LinkInvalid):
        links.verify(None, click(), now=NOW, click=True)


def test_links_and_embed_tokens_are_not_interchangeable() -> None:
    embed = tokens.mint(SECRET, 42, "viewer", 600, now=NOW)
    with pytest.raises(LinkInvalid):
        links.verify(SECRET, embed, now=NOW, click=False)
    from autowebinar_wp.errors import Unauthorized

    with pytest.raises(Unauthorized):
        tokens.verify(SECRET, click(), now=NOW)


@pytest.mark.parametrize("kwargs", [
    {"user_id": 0}, {"notification": "has space"}, {"url": "ftp://x"}, {"slot_id": "a/b"},
    {"ttl_sec": 0},
])
def test_mint_refuses_what_verify_would(kwargs: dict[str, object]) -> None:
    args: dict[str, object] = {"user_id": 1, "notification": "n", **kwargs}
    user_id, notification = args.pop("user_id"), args.pop("notification")
    with pytest.raises(ValueError):
        links.mint(SECRET, user_id, notification, now=NOW, **args)  # type: ignore[arg-type]


@given(user=st.integers(1, 10**12), n=st.from_regex(r"\A[A-Za-z0-9._:-]{1,64}\Z"),
       path=st.text(st.characters(min_codepoint=48, max_codepoint=122), max_size=40))
def test_any_valid_claims_round_trip(user: int, n: str, path: str) -> None:
    url = f"https://t.example/{path}"
    token = links.mint(SECRET, user, n, url=url, ttl_sec=5, now=NOW)
    assert links.verify(SECRET, token, now=NOW, click=True) == links.Link(
        user, n, url, None, int(NOW) + 5)


# ---- the README's minting snippets for CRMs, run against the verifier ------------------------

README = Path(__file__).resolve().parents[2] / "README.md"


def readme_block(language: str, first_line: str) -> str:
    blocks = re.findall(rf"```{language}\n(.*?)```", README.read_text(), re.DOTALL)
    (block,) = [b for b in blocks if b.startswith(first_line)]
    return block


def test_the_readme_python_snippet_mints_verifiable_links() -> None:
    namespace: dict[str, object] = {}
    exec(readme_block("python", "import time"), namespace)  # noqa: S102 - our own README
    live_link = namespace["live_link"]
    url = live_link("https://w.example", SECRET, 42, "reminder-24h", url=TARGET,  # type: ignore[operator]
                    slot="2026-12-10T1900")
    assert url.startswith("https://w.example/l/c/")
    link = links.verify(SECRET, url.rsplit("/", 1)[1], now=time.time(), click=True)
    assert (link.user_id, link.notification, link.url, link.slot_id) == (
        42, "reminder-24h", TARGET, "2026-12-10T1900")
    pixel = live_link("https://w.example", SECRET, 7, "digest")  # type: ignore[operator]
    assert links.verify(SECRET, pixel.rsplit("/", 1)[1], now=time.time(), click=False).url is None


def test_the_readme_php_snippet_mints_verifiable_links(tmp_path: Path) -> None:
    php = shutil.which("php")
    if php is None:
        if os.environ.get("AUTOWEBINAR_REQUIRE_MYSQL"):
            pytest.fail("php-cli is required (CI installs it)")
        pytest.skip("php is not installed")
    script = tmp_path / "mint.php"
    script.write_text(readme_block("php", "<?php // mint a live tracking link") + (
        "echo live_link( 'https://w.example', getenv( 'SECRET' ), 42, 'reminder-24h', "
        "getenv( 'TARGET' ), '2026-12-10T1900' ), \"\\n\";\n"
        "echo live_link( 'https://w.example', getenv( 'SECRET' ), 7, 'digest' ), \"\\n\";\n"))
    result = subprocess.run([php, str(script)], capture_output=True, text=True, check=True,
                            timeout=30, env={"SECRET": SECRET, "TARGET": TARGET,
                                             "PATH": os.environ.get("PATH", "")})
    click_url, pixel_url = result.stdout.split()
    assert click_url.startswith("https://w.example/l/c/")
    link = links.verify(SECRET, click_url.rsplit("/", 1)[1], now=time.time(), click=True)
    assert (link.user_id, link.notification, link.url, link.slot_id) == (
        42, "reminder-24h", TARGET, "2026-12-10T1900")
    assert pixel_url.startswith("https://w.example/l/o/")
    assert links.verify(SECRET, pixel_url.rsplit("/", 1)[1], now=time.time(),
                        click=False).user_id == 7
