"""The Flask application factory."""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Any

from flask import Flask

from autowebinar_wp import logs, services
from autowebinar_wp.config import load_config, normalise_and_validate


def _resource_root() -> Path:
    """Where templates/ and static/ are: the checkout, or <prefix>/share after `pip install .`."""
    checkout = Path(__file__).resolve().parent.parent
    if (checkout / "templates").is_dir():
        return checkout
    return Path(sys.prefix) / "share" / "autowebinar-wp"


ROOT = _resource_root()


def create_app(
    test_config: dict[str, Any] | None = None,
    *,
    config_file: str | None = None,
    instance_path: str | None = None,
) -> Flask:
    """Build the app: config (defaults -> TOML -> env -> test_config), services, blueprints."""
    app = Flask(
        "autowebinar_wp",
        instance_relative_config=True,
        instance_path=instance_path or os.environ.get("AUTOWEBINAR_INSTANCE_PATH") or None,
        template_folder=str(ROOT / "templates"),
        static_folder=str(ROOT / "static"),
    )
    load_config(app.config, config_file)
    if test_config:
        app.config.from_mapping(test_config)
    normalise_and_validate(app.config, app.instance_path)
    logs.configure(app.config["LOG_LEVEL"])
    services.build(app)

    from autowebinar_wp.web import register

    register(app)
    if app.config["TRUSTED_PROXIES"]:
        # Behind N reverse proxies the client's address is the Nth from the right in
        # X-Forwarded-For; the per-address limit on invalid tokens needs the real one.
        from werkzeug.middleware.proxy_fix import ProxyFix

        n = app.config["TRUSTED_PROXIES"]
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=n, x_proto=n)  # type: ignore[method-assign]
    return app
