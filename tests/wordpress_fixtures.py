"""WordPress's own usermeta DDL and realistic non-AutoWebinar meta for tests.

The CREATE TABLE is what WordPress 6.1 runs (wp-admin/includes/schema.php, `$users_multi_table`
with `$max_index_length = 191`), as `SHOW CREATE TABLE` prints it on MariaDB 10.11.
"""

from __future__ import annotations

import hashlib
import random

from sqlalchemy import Connection, text

WP_USERMETA_DDL = """
CREATE TABLE `{prefix}usermeta` (
  `umeta_id` bigint(20) unsigned NOT NULL AUTO_INCREMENT,
  `user_id` bigint(20) unsigned NOT NULL DEFAULT 0,
  `meta_key` varchar(255) DEFAULT NULL,
  `meta_value` longtext DEFAULT NULL,
  PRIMARY KEY (`umeta_id`),
  KEY `user_id` (`user_id`),
  KEY `meta_key` (`meta_key`(191))
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_520_ci
"""


def wordpress_meta(user_id: int, prefix: str = "wp_") -> list[tuple[int, str, str | None]]:
    """The rows WordPress writes for a subscriber, plus Core's referral keys for some users."""
    rng = random.Random(user_id)
    rows: list[tuple[int, str, str | None]] = [
        (user_id, "nickname", f"user{user_id}"),
        (user_id, "first_name", rng.choice(["Анна", "Ivan", "Zoë", "李"])),
        (user_id, "last_name", ""),
        (user_id, "description", ""),
        (user_id, "rich_editing", "true"),
        (user_id, "syntax_highlighting", "true"),
        (user_id, "comment_shortcuts", "false"),
        (user_id, "admin_color", "fresh"),
        (user_id, "use_ssl", "0"),
        (user_id, "show_admin_bar_front", "true"),
        (user_id, "locale", ""),
        (user_id, f"{prefix}capabilities", 'a:1:{s:10:"subscriber";b:1;}'),
        (user_id, f"{prefix}user_level", "0"),
        (user_id, "dismissed_wp_pointers", ""),
        (user_id, "session_tokens", None if user_id % 7 == 0 else 'a:0:{}'),
    ]
    if user_id % 3 != 0:
        rows.append((user_id, "ref", f"partner-{user_id % 11}"))
    if user_id % 2 == 0:
        rows.append((user_id, "wh_ref", f"wh-{user_id % 5}"))
    if user_id % 5 == 0:
        rows.append((user_id, "invited_by", str(user_id // 5)))
    # A plugin's unrelated key that merely looks like ours must never be touched.
    if user_id % 13 == 0:
        rows.append((user_id, "autowebinarx_other_plugin", "keep"))
    return rows


def seed(conn: Connection, table: str, user_ids: range, prefix: str = "wp_") -> None:
    rows = [r for uid in user_ids for r in wordpress_meta(uid, prefix)]
    for start in range(0, len(rows), 2000):
        conn.execute(
            text(f"INSERT INTO {table} (user_id, meta_key, meta_value) VALUES (:u, :k, :v)"),
            [{"u": u, "k": k, "v": v} for u, k, v in rows[start:start + 2000]],
        )


def foreign_checksum(conn: Connection, table: str) -> tuple[int, str]:
    """Count and digest of every row outside our namespaces (autowebinar_*, livewebinar_*)."""
    rows = conn.execute(
        text(
            f"SELECT umeta_id, user_id, meta_key, meta_value FROM {table} "
            "WHERE meta_key IS NULL OR (meta_key NOT LIKE 'autowebinar!_%' ESCAPE '!' "
            "AND meta_key NOT LIKE 'livewebinar!_%' ESCAPE '!') "
            "ORDER BY umeta_id"
        )
    ).all()
    digest = hashlib.sha256()
    for row in rows:
        digest.update(repr(tuple(row)).encode())
    return len(rows), digest.hexdigest()
