"""What SQL a piece of code sends, and how the database would run it: for tests that pages cost
what they show (index seeks, no counts), on SQLite and on PostgreSQL."""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager

from flask import Flask
from sqlalchemy import event

from consoleapp.extensions import db

DELIVERIES_TABLE = re.compile(r"\bdeliveries\b")


@contextmanager
def statements(app: Flask) -> Iterator[list[tuple[str, object]]]:
    """The SQL sent to the database meanwhile, with its parameters."""
    seen: list[tuple[str, object]] = []

    def record(conn, cursor, statement, parameters, context, executemany) -> None:
        seen.append((statement, parameters))

    with app.app_context():
        engine = db.engine
    event.listen(engine, "before_cursor_execute", record)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", record)


def plan(app: Flask, statement: str, parameters: object) -> list[str]:
    """How the database would run it. PostgreSQL first gathers its statistics, as autovacuum
    would, and is told to avoid table scans, bitmap scans and sorts: one still in the plan has
    no index to do without it."""
    with app.app_context(), db.engine.connect() as conn:
        if conn.dialect.name == "sqlite":
            rows = conn.exec_driver_sql("EXPLAIN QUERY PLAN " + statement, parameters)
            return [row[-1] for row in rows]
        conn.exec_driver_sql("ANALYZE")
        for setting in ("enable_seqscan", "enable_bitmapscan", "enable_sort"):
            conn.exec_driver_sql(f"SET {setting} = off")
        return [row[0] for row in conn.exec_driver_sql("EXPLAIN " + statement, parameters)]


def _is_node(line: str) -> bool:
    return "->" in line or not line.startswith(" ")


def _indent(line: str) -> int:
    return line.index("->") if "->" in line else -1


def bounded_reads(lines: list[str], table: str) -> list[str]:
    """What is wrong with a PostgreSQL plan's reads of ``table``: each goes through an index and
    either fetches rows by id or stops at a LIMIT. Reading all of a set's rows is wrong."""
    wrong = []
    for number, line in enumerate(lines):
        if not re.search(rf"Scan\b.* on {table}\b", line):
            continue
        details = []
        for following in lines[number + 1 :]:
            if _is_node(following):
                break
            details.append(following)
        condition = next((d for d in details if "Index Cond:" in d), "")
        if re.search(r"\(id = (ANY|\d)", condition):
            continue
        depth, limited = _indent(line), False
        for above in reversed(lines[:number]):
            if _is_node(above) and _indent(above) < depth:
                depth = _indent(above)
                limited = limited or bool(re.match(r"\s*(->\s*)?Limit\b", above))
        if not limited:
            wrong.append(f"reads every matching row: {line.strip()}")
    return wrong
