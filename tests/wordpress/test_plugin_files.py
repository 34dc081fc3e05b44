"""The plugin's files: valid PHP, consistent versions, a complete translation template."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.wordpress.harness import PLUGIN_DIR

pytestmark = pytest.mark.wordpress

PHP_FILES = sorted(PLUGIN_DIR.rglob("*.php"))
POT = PLUGIN_DIR / "languages" / "autowebinar.pot"
# WordPress's translation functions: xgettext keywords with the text-domain argument.
XGETTEXT_KEYWORDS = ("__:1,2t", "_e:1,2t", "esc_html__:1,2t", "esc_attr__:1,2t",
                     "esc_html_e:1,2t", "esc_attr_e:1,2t", "_n:1,2,4t", "_x:1,2c,3t")


def need(tool: str) -> str:
    path = shutil.which(tool)
    if path is None:
        if os.environ.get("AUTOWEBINAR_REQUIRE_MYSQL") and tool == "php":
            pytest.fail("php-cli is required for the WordPress suite")
        pytest.skip(f"{tool} is not installed")
    return path


@pytest.mark.parametrize("path", PHP_FILES, ids=lambda p: str(p.relative_to(PLUGIN_DIR)))
def test_php_lint(path: Path) -> None:
    result = subprocess.run([need("php"), "-l", str(path)], capture_output=True, text=True,
                            check=False, timeout=60)
    assert result.returncode == 0, result.stdout + result.stderr


def test_every_php_file_refuses_direct_access() -> None:
    for path in PHP_FILES:
        assert re.search(r"^defined\( 'ABSPATH' \) \|\| exit;$", path.read_text(), re.M), path


def test_versions_agree() -> None:
    main = (PLUGIN_DIR / "autowebinar.php").read_text()
    readme = (PLUGIN_DIR / "readme.txt").read_text()
    header = re.search(r"^ \* Version:\s+(\S+)$", main, re.M)
    constant = re.search(r"define\( 'AUTOWEBINAR_PLUGIN_VERSION', '([^']+)' \);", main)
    stable = re.search(r"^Stable tag: (\S+)$", readme, re.M)
    assert header and constant and stable
    assert header.group(1) == constant.group(1) == stable.group(1)
    assert re.search(r"^ \* Text Domain:\s+autowebinar$", main, re.M)
    assert readme.startswith("=== AutoWebinar ===\n")
    for field in ("Requires at least", "Tested up to", "Requires PHP", "License"):
        assert re.search(rf"^{field}: \S", readme, re.M), field


def msgids(pot_text: str) -> set[str]:
    return set(re.findall(r'^msgid "(.+)"$', pot_text, re.M))


def test_translation_template_is_complete(tmp_path: Path) -> None:
    """languages/autowebinar.pot holds every string; regenerate it as tests/wordpress/README.md
    says when this fails."""
    xgettext = need("xgettext")
    fresh = tmp_path / "fresh.pot"
    subprocess.run(
        [xgettext, "--language=PHP", "--from-code=UTF-8", "--add-comments=translators:",
         *(f"--keyword={k}" for k in XGETTEXT_KEYWORDS), "-o", str(fresh),
         *(str(p.relative_to(PLUGIN_DIR)) for p in PHP_FILES)],
        cwd=PLUGIN_DIR, check=True, capture_output=True, timeout=60,
    )
    assert msgids(POT.read_text()) == msgids(fresh.read_text())
