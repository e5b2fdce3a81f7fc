"""Connections to the warehouse, and the tables Python owns (`sql/schema.sql`)."""

from __future__ import annotations

from importlib import resources

import psycopg

from cakupan.platform.warehouse import warehouse_url
from cakupan.settings import Settings


def connect(settings: Settings, role: str, *, autocommit: bool = True) -> psycopg.Connection:
    """A connection as one of the warehouse roles (`warehouse.ROLES`); `setup` only for setting up and tests."""
    return psycopg.connect(warehouse_url(settings, role), autocommit=autocommit, application_name=f"cakupan-{role}")


def apply_schema(conn: psycopg.Connection) -> None:
    """Create the reference, raw and audit tables if missing (idempotent)."""
    ddl = resources.files("cakupan.platform").joinpath("sql/schema.sql").read_text()
    with conn.transaction():
        # One loader at a time may create objects; concurrent CREATE ... IF NOT EXISTS can still collide.
        conn.execute("SELECT pg_advisory_xact_lock(hashtext('cakupan.schema'))")
        conn.execute(ddl)
