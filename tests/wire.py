"""What the MySQL driver actually sends, in order: one entry per round trip.

SQLAlchemy's cursor events do not see COMMIT, ROLLBACK, pings, or a statement sent on the
DBAPI cursor (the store's RELEASE_LOCK), so the round-trip contract is checked here, at
PyMySQL's one method that writes a command to the socket.
"""

from __future__ import annotations

from typing import Any

from pymysql.connections import Connection
from pymysql.constants import COMMAND


class WireLog:
    """`with WireLog() as wire:` ... `wire.commands` == ["SELECT", "UPDATE", "COMMIT", ...]."""

    def __init__(self) -> None:
        self.commands: list[str] = []

    def __enter__(self) -> WireLog:
        self._original = Connection._execute_command
        original, commands = self._original, self.commands

        def recording(conn: Any, command: int, sql: Any) -> Any:
            if command == COMMAND.COM_QUERY:
                text = sql.decode() if isinstance(sql, bytes) else str(sql)
                commands.append(text.split(None, 1)[0].upper())
            elif command == COMMAND.COM_PING:
                commands.append("PING")
            else:
                commands.append(f"COM_{command}")
            return original(conn, command, sql)

        Connection._execute_command = recording  # type: ignore[method-assign]
        return self

    def __exit__(self, *exc: object) -> None:
        Connection._execute_command = self._original  # type: ignore[method-assign]
