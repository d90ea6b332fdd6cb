"""Column types that behave the same on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime

from pydantic import SecretStr
from sqlalchemy import BigInteger, DateTime, Dialect, Integer, String, TypeDecorator
from sqlalchemy.types import JSON

# BIGINT primary keys on PostgreSQL, INTEGER (the rowid alias) on SQLite so autoincrement works.
BigIntPK = BigInteger().with_variant(Integer(), "sqlite")


class UTCDateTime(TypeDecorator[datetime]):
    """Aware UTC datetimes in and out; SQLite stores naive UTC text."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


JSONType = JSON().with_variant(JSON(none_as_null=True), "postgresql")


class SecretText(TypeDecorator[SecretStr]):
    """A secret we must read back (a webhook signing key): a SecretStr in Python, so a repr, a log
    line or an error message shows ``**********``, never the value."""

    impl = String(200)
    cache_ok = True

    def process_bind_param(self, value: SecretStr | str | None, dialect: Dialect) -> str | None:
        if value is None:
            return None
        return value.get_secret_value() if isinstance(value, SecretStr) else value

    def process_result_value(self, value: str | None, dialect: Dialect) -> SecretStr | None:
        return None if value is None else SecretStr(value)
