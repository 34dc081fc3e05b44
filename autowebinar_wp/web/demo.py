"""Demo mode only: a stand-in for the WordPress page that embeds the player.

It mints a viewer token on each load, exactly as the WordPress shortcode does, so a newcomer
can reload, switch viewers and see every screen. Never registered outside demo mode.
"""

from __future__ import annotations

from flask import Blueprint, current_app, render_template, request, url_for

from autowebinar_wp import runtime, tokens

bp = Blueprint("demo", __name__)
DEMO_USER_ID = 1


@bp.get("/")
@bp.get("/demo")
def page() -> str:
    raw = request.args.get("user", str(DEMO_USER_ID))
    user_id = int(raw) if raw.isdigit() and 0 < int(raw) < 10**9 else DEMO_USER_ID
    secret = current_app.config["EMBED_SECRET"]
    now = runtime.now().timestamp()
    token = tokens.mint(secret, user_id, "viewer", current_app.config["TOKEN_DEFAULT_TTL_SEC"], now)
    admin = tokens.mint(secret, DEMO_USER_ID, "admin", 3600, now)
    admin_url = None
    if "admin.dashboard" in current_app.view_functions:
        admin_url = url_for("admin.dashboard", token=admin)
    return render_template("demo.html", token=token, admin_url=admin_url, user_id=user_id,
                           next_user=user_id + 1, title=current_app.config["TITLE"])
