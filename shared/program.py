"""Program rules: tiers, rates, periods and caps, loaded from TOML and validated."""

from __future__ import annotations

import tomllib
from decimal import Decimal
from pathlib import Path
from typing import Annotated
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import phonenumbers
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from shared.errors import ConfigError

DEFAULT_PROGRAM_FILE = Path(__file__).with_name("default_program.toml")

Percent = Annotated[int, Field(ge=0, le=100)]
Localized = dict[str, str]


class _Rules(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Tier(_Rules):
    code: str = Field(pattern=r"^[a-z][a-z0-9_-]{0,31}$")
    name: Localized
    threshold: int = Field(ge=0, description="rolling paid spend, major units, inclusive")
    accrual_percent: Percent

    def title(self, language: str) -> str:
        return self.name.get(language) or self.name.get("en") or next(iter(self.name.values()))


class Welcome(_Rules):
    points: int = Field(ge=0, default=100)


class Birthday(_Rules):
    days_before: int = Field(ge=0, le=30, default=2)
    accrual_percent: Percent = 14


class ProgramRules(_Rules):
    name: str = "Loyalty"
    language: str = Field(default="ru", pattern=r"^(ru|en)$")
    time_zone: str = "Europe/Moscow"
    phone_region: str = "RU"
    currency: str = "RUB"
    point_value: int = Field(default=100, ge=1, description="minor units one point pays")
    pending_hours: int = Field(default=24, ge=0, le=24 * 90)
    expiry_days: int = Field(default=180, ge=1, le=3650)
    redemption_cap_percent: Percent = 70
    tier_window_days: int = Field(default=365, ge=1, le=3650)
    expiring_soon_days: int = Field(default=30, ge=1, le=365)
    expiring_notice_days: int = Field(default=7, ge=1, le=365)
    welcome: Welcome = Welcome()
    birthday: Birthday = Birthday()
    tiers: list[Tier] = Field(min_length=1)
    category_multipliers: dict[str, Decimal] = {}

    @field_validator("time_zone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"unknown IANA time zone {value!r}") from exc
        return value

    @field_validator("phone_region")
    @classmethod
    def _known_region(cls, value: str) -> str:
        if value.upper() not in phonenumbers.SUPPORTED_REGIONS:
            raise ValueError(f"unknown phone region {value!r} (use an ISO code such as RU or KZ)")
        return value.upper()

    @field_validator("category_multipliers")
    @classmethod
    def _sane_multipliers(cls, value: dict[str, Decimal]) -> dict[str, Decimal]:
        for category, multiplier in value.items():
            if not Decimal(0) <= multiplier <= Decimal(10):
                raise ValueError(f"multiplier for {category!r} must be between 0 and 10")
            if multiplier.as_tuple().exponent < -4:  # type: ignore[operator]
                raise ValueError(f"multiplier for {category!r} has more than 4 decimals")
        return value

    @model_validator(mode="after")
    def _ordered_tiers(self) -> ProgramRules:
        if self.tiers[0].threshold != 0:
            raise ValueError("tiers: the first tier must have threshold 0")
        codes = [tier.code for tier in self.tiers]
        if len(set(codes)) != len(codes):
            raise ValueError("tiers: codes must be unique")
        for lower, upper in zip(self.tiers, self.tiers[1:], strict=False):
            if upper.threshold <= lower.threshold:
                raise ValueError(f"tiers: threshold of {upper.code!r} must be above {lower.code!r}'s")
        return self

    # --- lookups used by the core -------------------------------------------------
    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.time_zone)

    def tier(self, code: str) -> Tier:
        for tier in self.tiers:
            if tier.code == code:
                return tier
        return self.tiers[0]

    def tier_for_spend(self, spend_minor: int) -> Tier:
        """The highest tier whose threshold (inclusive) the spend reaches."""
        chosen = self.tiers[0]
        for tier in self.tiers:
            if spend_minor >= tier.threshold * 100:
                chosen = tier
        return chosen

    def next_tier(self, code: str) -> Tier | None:
        codes = [tier.code for tier in self.tiers]
        index = codes.index(code) if code in codes else 0
        return self.tiers[index + 1] if index + 1 < len(self.tiers) else None

    def tier_rank(self, code: str) -> int:
        return next((i for i, tier in enumerate(self.tiers) if tier.code == code), 0)

    def multiplier(self, category: str | None) -> Decimal:
        if category is None:
            return Decimal(1)
        return self.category_multipliers.get(category, Decimal(1))


def load_program(path: Path | None = None) -> ProgramRules:
    """Read and validate a program file; a bad file raises ConfigError naming the key."""
    source = path or DEFAULT_PROGRAM_FILE
    try:
        data = tomllib.loads(source.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise ConfigError(f"LOYALTY_PROGRAM_FILE: {source} does not exist") from exc
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"LOYALTY_PROGRAM_FILE: {source} is not valid TOML: {exc}") from exc
    try:
        return ProgramRules.model_validate(data)
    except ValidationError as exc:
        problems = "; ".join(f"{where or '(file)'}: {message}" for where, message in rule_problems(exc))
        raise ConfigError(f"program rules in {source}: {problems}") from exc


def rule_problems(exc: ValidationError) -> list[tuple[str, str]]:
    """(dotted key, message) for each problem, as the TOML loader and the console form report them."""
    return [(".".join(str(p) for p in err["loc"]), err["msg"]) for err in exc.errors()]
