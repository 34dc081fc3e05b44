"""autowebinar-wp: honest automated-webinar delivery for WordPress, state in wp_usermeta."""

__version__ = "0.1.0"

from autowebinar_wp.app import create_app  # noqa: E402

__all__ = ["__version__", "create_app"]
