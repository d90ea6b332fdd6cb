"""Settings from the environment (prefix LOYALTY_), one section per subsystem.

Factories take a Settings object; tests build one directly instead of editing os.environ.
"""

from __future__ import annotations

import ipaddress
import os
import re
import secrets
from functools import cached_property
from pathlib import Path
from typing import Annotated
from urllib.parse import parse_qsl, urlencode, urlsplit

from pydantic import AfterValidator, Field, SecretStr, ValidationError, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from shared.errors import ConfigError
from shared.files import create_private_once
from shared.outbound import UrlPolicy, parse_host_list
from shared.program import ProgramRules, load_program

VAR_DIR = Path("var")
ENV_FILE = Path(".env")  # read from the working directory; LOYALTY_ENV_FILE names another


class _Section(BaseSettings):
    model_config = SettingsConfigDict(extra="ignore", frozen=True)


def _insecure_host_list(value: str) -> str:
    parse_host_list(value, insecure=True)
    return value


# Hosts (``host`` or ``host:port``) an operator lets us call over http, as an IP, on a private
# address: for a local test server only. One mechanism for every outbound caller (push, webhooks).
InsecureHosts = Annotated[str, AfterValidator(_insecure_host_list)]


class TelegramSettings(_Section):
    model_config = SettingsConfigDict(env_prefix="LOYALTY_TELEGRAM_", extra="ignore", frozen=True)

    token: SecretStr | None = None
    webhook_secret: SecretStr | None = None
    api_url: str = "https://api.telegram.org"
    bot_username: str | None = None
    rate_per_second: float = Field(default=30, gt=0)
    request_timeout: float = Field(default=20, gt=0, le=300)

    @field_validator("webhook_secret")
    @classmethod
    def _telegram_accepts_the_secret(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None and not re.fullmatch(r"[A-Za-z0-9_-]{1,256}", value.get_secret_value()):
            raise ValueError("Telegram accepts only A-Z, a-z, 0-9, _ and -, 1 to 256 characters")
        return value


class SmsSettings(_Section):
    model_config = SettingsConfigDict(env_prefix="LOYALTY_SMS_", extra="ignore", frozen=True)

    provider: str = Field(default="log", pattern=r"^(log|smsc|smpp)$")
    api_url: str = "https://smsc.ru"
    login: str | None = None
    password: SecretStr | None = None
    sender: str = "Loyalty"
    callback_secret: SecretStr | None = None
    smpp_host: str = "127.0.0.1"
    smpp_port: int = 2775
    smpp_system_id: str | None = None
    smpp_password: SecretStr | None = None
    smpp_window: int = Field(default=10, ge=1, le=100, description="submit_sm in flight at once")
    smpp_response_timeout: float = Field(default=10, gt=0, le=120, description="seconds to wait for submit_sm_resp")
    rate_per_second: float = Field(default=100, gt=0)
    part_cost_minor: int = Field(default=350, ge=0, description="price of one SMS part, kopecks")
    batch_size: int = Field(default=200, ge=1, le=1000, description="messages per aggregator request")
    max_connections: int = Field(default=20, ge=1, le=500)
    request_timeout: float = Field(default=15, gt=0)
    viber_provider: str = Field(default="log", pattern=r"^(log|smsc)$")


class EmailSettings(_Section):
    model_config = SettingsConfigDict(env_prefix="LOYALTY_EMAIL_", extra="ignore", frozen=True)

    provider: str = Field(default="log", pattern=r"^(log|smtp)$")
    smtp_host: str = "127.0.0.1"
    smtp_port: int = 25
    smtp_user: str | None = None
    smtp_password: SecretStr | None = None
    smtp_tls: bool = False
    sender: str = "Loyalty <loyalty@localhost>"
    unsubscribe_mailbox: str | None = None
    timeout: float = Field(default=30, gt=0)
    rate_per_second: float = Field(default=50, gt=0)


class DkimSettings(_Section):
    """DKIM signing of outgoing mail; off unless a private key is configured (PEM, inline or in a file)."""

    model_config = SettingsConfigDict(env_prefix="LOYALTY_DKIM_", extra="ignore", frozen=True)

    selector: str | None = Field(default=None, pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$")
    domain: str | None = Field(default=None, pattern=r"^[A-Za-z0-9.-]{1,253}$")
    private_key: SecretStr | None = None
    private_key_file: Path | None = None

    @model_validator(mode="after")
    def _complete(self) -> DkimSettings:
        if self.private_key is not None and self.private_key_file is not None:
            raise ValueError("set LOYALTY_DKIM_PRIVATE_KEY or LOYALTY_DKIM_PRIVATE_KEY_FILE, not both")
        if self.enabled and not (self.selector and self.domain):
            raise ValueError("a DKIM key needs LOYALTY_DKIM_SELECTOR and LOYALTY_DKIM_DOMAIN")
        return self

    @property
    def enabled(self) -> bool:
        return self.private_key is not None or self.private_key_file is not None

    def key_pem(self) -> bytes:
        """The private key's PEM bytes (read from the file when one is named)."""
        if self.private_key_file is not None:
            return self.private_key_file.read_bytes()
        if self.private_key is None:
            raise ValueError("no DKIM key configured")
        return self.private_key.get_secret_value().encode()


class PushSettings(_Section):
    """Web Push (VAPID). Keys are generated into var/vapid.json on first start unless configured."""

    model_config = SettingsConfigDict(env_prefix="LOYALTY_PUSH_", extra="ignore", frozen=True)

    provider: str = Field(default="log", pattern=r"^(log|webpush)$")
    vapid_private_key: SecretStr | None = None  # urlsafe base64 raw P-256 key or PEM
    vapid_public_key: str | None = None  # urlsafe base64 uncompressed point (applicationServerKey)
    vapid_subject: str = "mailto:admin@localhost"
    ttl_seconds: int = Field(default=86400, ge=0, le=2419200)
    request_timeout: float = Field(default=15, gt=0)
    # endpoints a browser may give us: https on one of these hosts ("*." = any subdomain), never an IP
    allowed_hosts: str = (
        "fcm.googleapis.com,updates.push.services.mozilla.com,*.notify.windows.com,web.push.apple.com,*.push.apple.com"
    )
    # tests only (a local push server): host or host:port allowed over http, as an IP, on a private address
    allow_insecure_hosts: InsecureHosts = ""

    @field_validator("allowed_hosts")
    @classmethod
    def _host_list(cls, value: str) -> str:
        parse_host_list(value)
        return value

    @property
    def endpoint_policy(self) -> UrlPolicy:
        return UrlPolicy(parse_host_list(self.allowed_hosts), parse_host_list(self.allow_insecure_hosts, insecure=True))


class WebhookSettings(_Section):
    """Outbound webhooks to integrators (shared/webhooks.py, notifications/webhooks.py)."""

    model_config = SettingsConfigDict(env_prefix="LOYALTY_WEBHOOKS_", extra="ignore", frozen=True)

    # tests only (a local receiver): host or host:port allowed over http, as an IP, on a private address
    allow_hosts: InsecureHosts = ""
    request_timeout: float = Field(default=10, gt=0, le=60)
    retry_hours: int = Field(default=72, ge=1, le=24 * 14, description="give a delivery up after this long")
    first_retry_seconds: float = Field(default=5, gt=0, le=3600)
    batch_size: int = Field(default=50, ge=1, le=1000)
    max_endpoints: int = Field(default=50, ge=1, le=10000)

    @property
    def endpoint_policy(self) -> UrlPolicy:
        return UrlPolicy((), parse_host_list(self.allow_hosts, insecure=True), any_host=True, label="webhook")


class WalletSettings(_Section):
    model_config = SettingsConfigDict(env_prefix="LOYALTY_WALLET_", extra="ignore", frozen=True)

    apple_pass_type_id: str = "pass.dev.loyalty.card"  # noqa: S105 - an identifier, not a secret
    apple_team_id: str = "DEVTEAM001"
    apple_cert_file: Path | None = None
    apple_key_file: Path | None = None
    apple_key_password: SecretStr | None = None
    apple_wwdr_file: Path | None = None
    apns_url: str = "https://api.push.apple.com"
    apns_ca_file: Path | None = None  # only to trust a local APNs stand-in in tests
    google_issuer_id: str = "3388000000000000000"
    google_service_account_file: Path | None = None
    google_api_url: str = "https://walletobjects.googleapis.com"
    organization_name: str = "Loyalty"
    background_color: str = "rgb(122,16,48)"
    foreground_color: str = "rgb(255,255,255)"
    label_color: str = "rgb(255,214,170)"
    link_ttl_days: int = Field(default=30, ge=1)


class NotifierSettings(_Section):
    model_config = SettingsConfigDict(env_prefix="LOYALTY_NOTIFY_", extra="ignore", frozen=True)

    cascade: str = Field(
        default="telegram,push,viber,sms",
        pattern=r"^[a-z]+(,[a-z]+)*$",
        description="channel order for service messages, cheapest first",
    )
    quiet_start_hour: int = Field(default=9, ge=0, le=23)
    quiet_end_hour: int = Field(default=21, ge=1, le=24)
    promo_cap_per_day: int = Field(default=2, ge=1, description="promotional messages per member and channel")
    delivery_timeout_minutes: int = Field(default=15, ge=1, description="no delivery report by then: next channel")
    max_attempts: int = Field(default=6, ge=1, le=50)
    retry_base_seconds: float = Field(default=30, gt=0)
    poll_seconds: float = Field(default=0.2, gt=0, le=10)
    due_jobs_minutes: int = Field(default=5, ge=1)
    campaigns_seconds: int = Field(default=30, ge=1, description="how often due campaigns and chains run")
    segments_refresh_hours: int = Field(default=24, ge=1, description="segment snapshots older than this refresh")
    lease_seconds: int = Field(default=120, ge=5)
    batch_size: int = Field(default=200, ge=1, le=5000)
    heartbeat_seconds: float = Field(default=10, gt=0, le=60, description="how often a worker says it is alive")
    leader_lease_seconds: float = Field(default=30, gt=0, description="the scheduler lease lasts this long")
    leader_renew_seconds: float = Field(default=10, gt=0, description="the leader renews its lease this often")
    metrics_port: int | None = Field(default=None, ge=1, le=65535, description="the worker's own /metrics port")


class CabinetSettings(_Section):
    """The personal cabinet: sessions, login codes and their limits."""

    model_config = SettingsConfigDict(env_prefix="LOYALTY_CABINET_", extra="ignore", frozen=True)

    session_minutes: int = Field(default=60 * 24 * 30, ge=5, description="session cookie lifetime")
    rotate_minutes: int = Field(default=60, ge=1, description="a session older than this gets a fresh cookie")
    cookie_secure: bool = True  # may be off only for plain-http local development (127.0.0.1/localhost)
    code_ttl_seconds: int = Field(default=300, ge=30, le=3600)
    code_attempts: int = Field(default=5, ge=1, le=20, description="wrong guesses before a code is burnt")
    resend_seconds: int = Field(default=60, ge=0, description="wait before another code to the same phone")
    codes_per_phone_hour: int = Field(default=5, ge=1)
    codes_per_ip_hour: int = Field(default=20, ge=1)
    codes_per_phone_day: int = Field(default=20, ge=1, description="codes to one phone a day, from all addresses")
    guesses_per_ip_hour: int = Field(default=15, ge=1, description="wrong code guesses from one address an hour")
    code_countries: str = Field(
        default="",
        pattern=r"^[0-9+, ]*$",
        description="calling codes codes may be sent to, e.g. '7,375'; empty: the program's",
    )
    init_data_max_age: int = Field(default=3600, ge=60, description="Telegram Mini App initData freshness, s")


class RetentionSettings(_Section):
    """How long personal data that has served its purpose is kept (see docs/operations.md)."""

    model_config = SettingsConfigDict(env_prefix="LOYALTY_RETENTION_", extra="ignore", frozen=True)

    message_days: int = Field(default=180, ge=1, description="message addresses and texts are blanked after")
    login_code_hours: int = Field(default=24, ge=1, description="one-time codes are deleted after")
    batch_size: int = Field(default=1000, ge=1, le=50_000, description="rows per transaction")


class RecommendSettings(_Section):
    """Personal recommendations from purchase lines (shared/offers/recommend.py), recomputed nightly."""

    model_config = SettingsConfigDict(env_prefix="LOYALTY_RECOMMEND_", extra="ignore", frozen=True)

    days: int = Field(
        default=180, ge=1, le=3 * 366, description="purchase lines of this many days feed the associations"
    )
    recent_days: int = Field(
        default=30, ge=0, le=366, description="what a member bought this recently is not recommended"
    )
    min_support: float = Field(
        default=0.001, ge=0, le=1, description="an item or pair in fewer baskets than this share is ignored"
    )
    top: int = Field(default=5, ge=1, le=50, description="recommendations kept per member and kind")
    excluded_categories: str = Field(default="tobacco", description="comma-separated categories never recommended")
    alcohol_promotion_forbidden: bool = Field(
        default=True,
        description="the law forbids promoting alcohol (Russia: 38-FZ art. 21); its categories are excluded",
    )
    alcohol_categories: str = Field(default="wine,spirits,beer", description="comma-separated alcohol categories")
    hour_utc: int = Field(default=2, ge=0, le=23, description="the nightly recompute runs at this hour (UTC)")
    work_mem_mb: int = Field(
        default=256, ge=4, le=4096, description="PostgreSQL work_mem for the recompute's transaction (hash joins)"
    )

    @property
    def excluded(self) -> list[str]:
        """Every category that is never recommended."""
        names = self.excluded_categories.split(",")
        if self.alcohol_promotion_forbidden:
            names += self.alcohol_categories.split(",")
        return sorted({name.strip() for name in names if name.strip()})


class DigestSettings(_Section):
    """The monthly digest (notifications/campaigns/digest.py): balance, points burning soon, tier
    progress and recommendations, to every member who consented to e-mail or Telegram."""

    model_config = SettingsConfigDict(env_prefix="LOYALTY_DIGEST_", extra="ignore", frozen=True)

    enabled: bool = Field(default=True, description="the scheduler sends the digest every month")
    day: int = Field(default=1, ge=1, le=28, description="day of the month (program time zone) it goes out from")
    hour_utc: int = Field(default=7, ge=0, le=23, description="the daily check for a month's digest runs at this hour")
    recommendations: int = Field(default=3, ge=0, le=10, description="recommended categories in a digest")
    batch_size: int = Field(default=500, ge=1, le=5000, description="members per transaction")


class ReportSettings(_Section):
    """Console reports (shared/reports)."""

    model_config = SettingsConfigDict(env_prefix="LOYALTY_REPORTS_", extra="ignore", frozen=True)

    overlap_top: int = Field(
        default=12, ge=2, le=40, description="categories (most buyers first) in the category-overlap matrix"
    )


class Settings(BaseSettings):
    """Root settings. Every environment variable starts with LOYALTY_."""

    model_config = SettingsConfigDict(env_prefix="LOYALTY_", extra="ignore", frozen=True)

    var_dir: Path = VAR_DIR
    database_url: str = ""
    public_url: str = "http://127.0.0.1:8000"
    program_file: Path | None = None
    secret_key: SecretStr | None = None
    redis_url: str | None = None
    log_level: str = Field(default="INFO", pattern=r"^(DEBUG|INFO|WARNING|ERROR)$")
    db_pool_size: int = Field(default=10, ge=1, le=200)
    db_statement_cache_size: int | None = Field(
        default=None,
        ge=0,
        description="asyncpg prepared statements per connection; 0 behind PgBouncer (transaction "
        "mode), unset for asyncpg's default",
    )
    trusted_proxies: str = Field(
        default="",
        description="comma-separated addresses or networks of reverse proxies "
        "whose X-Forwarded-For/-Proto are believed; * for any; empty for none",
    )
    max_body_bytes: int = Field(default=1_000_000, ge=1024)
    console_session_max_hours: float = Field(
        default=12, gt=0, le=24 * 31, description="a console sign-in ends this long after it, active or not"
    )
    log_format: str = Field(default="text", pattern=r"^(text|json)$")
    access_log: bool = False
    metrics_token: SecretStr | None = None  # GET /metrics with Bearer <token>; without one it is 404
    heartbeat_max_age_seconds: float = Field(default=60, gt=0, description="/readyz: a worker beat this recently")
    cert_warning_days: int = Field(default=30, ge=1, description="certificates closer to expiry are warned about")
    telegram: TelegramSettings = Field(default_factory=TelegramSettings)
    sms: SmsSettings = Field(default_factory=SmsSettings)
    email: EmailSettings = Field(default_factory=EmailSettings)
    dkim: DkimSettings = Field(default_factory=DkimSettings)
    wallet: WalletSettings = Field(default_factory=WalletSettings)
    notify: NotifierSettings = Field(default_factory=NotifierSettings)
    webhooks: WebhookSettings = Field(default_factory=WebhookSettings)
    push: PushSettings = Field(default_factory=PushSettings)
    cabinet: CabinetSettings = Field(default_factory=CabinetSettings)
    retention: RetentionSettings = Field(default_factory=RetentionSettings)
    recommend: RecommendSettings = Field(default_factory=RecommendSettings)
    digest: DigestSettings = Field(default_factory=DigestSettings)
    reports: ReportSettings = Field(default_factory=ReportSettings)

    @field_validator("database_url")
    @classmethod
    def _supported_database(cls, value: str) -> str:
        if value and not value.startswith(("sqlite+aiosqlite://", "postgresql+asyncpg://")):
            raise ValueError("use sqlite+aiosqlite:///path or postgresql+asyncpg://user@host/db")
        if value:
            from sqlalchemy.engine import make_url  # its own errors would quote the URL, password included

            try:
                make_url(value)
            except Exception:
                raise ValueError("not a valid database URL (user:password@host:port/database)") from None
        return value

    @field_validator("trusted_proxies")
    @classmethod
    def _proxy_addresses(cls, value: str) -> str:
        entries = [part.strip() for part in value.split(",") if part.strip()]
        if entries == ["*"]:
            return "*"
        for entry in entries:
            try:
                ipaddress.ip_network(entry, strict=False)
            except ValueError:
                raise ValueError(
                    f"{entry!r} is not an IP address or network; use e.g. 10.0.0.5,172.18.0.0/16 or *"
                ) from None
        return ",".join(entries)

    @field_validator("public_url")
    @classmethod
    def _absolute_url(cls, value: str) -> str:
        if not value.startswith(("http://", "https://")):
            raise ValueError("must be an absolute http(s) URL, e.g. https://loyalty.example.com")
        return value.rstrip("/")

    @model_validator(mode="after")
    def _secure_cookie_off_only_locally(self) -> Settings:
        local = self.public_url.startswith(("http://127.0.0.1", "http://localhost"))
        if not self.cabinet.cookie_secure and not local:
            raise ValueError(
                "LOYALTY_CABINET_COOKIE_SECURE may be off only when LOYALTY_PUBLIC_URL is "
                "http://127.0.0.1 or http://localhost"
            )
        return self

    @property
    def db_url(self) -> str:
        return self.database_url or f"sqlite+aiosqlite:///{self.var_dir / 'loyalty.db'}"

    @property
    def is_sqlite(self) -> bool:
        return self.db_url.startswith("sqlite")

    @cached_property
    def program(self) -> ProgramRules:
        return load_program(self.program_file)

    @cached_property
    def secret(self) -> str:
        """Signing secret for URLs and sessions; kept in var/ when not configured."""
        if self.secret_key is not None:
            return self.secret_key.get_secret_value()
        path = self.var_dir / "secret.key"
        create_private_once(path, secrets.token_urlsafe(48))  # 0600 from the first byte
        return path.read_text(encoding="utf-8").strip()


def env_file() -> Path | None:
    """The .env file the settings read (LOYALTY_ENV_FILE, default ./.env), if it exists."""
    path = Path(os.environ.get("LOYALTY_ENV_FILE") or ENV_FILE)
    return path if path.is_file() else None


def load_settings(**overrides: object) -> Settings:
    """Build Settings and the program rules, turning validation errors into ConfigError.

    LOYALTY_* lines of the .env file count as settings; the process environment wins over them."""
    dotenv = env_file()
    try:
        if dotenv is None:
            settings = Settings(**overrides)  # type: ignore[arg-type]
        else:
            for name, field in Settings.model_fields.items():  # each section reads it with its own prefix
                section = field.annotation
                if name not in overrides and isinstance(section, type) and issubclass(section, _Section):
                    overrides[name] = section(_env_file=dotenv, _env_file_encoding="utf-8")  # type: ignore[call-arg]
            settings = Settings(_env_file=dotenv, _env_file_encoding="utf-8", **overrides)  # type: ignore[arg-type, call-arg]
    except ValidationError as exc:  # a section's own error carries its class name as title
        raise ConfigError(_describe(exc)) from exc
    settings.program  # noqa: B018 - validate the rules at start, not on first receipt
    return settings


_PREFIXES = {
    "TelegramSettings": "LOYALTY_TELEGRAM_",
    "SmsSettings": "LOYALTY_SMS_",
    "EmailSettings": "LOYALTY_EMAIL_",
    "DkimSettings": "LOYALTY_DKIM_",
    "WalletSettings": "LOYALTY_WALLET_",
    "NotifierSettings": "LOYALTY_NOTIFY_",
    "PushSettings": "LOYALTY_PUSH_",
    "CabinetSettings": "LOYALTY_CABINET_",
    "RetentionSettings": "LOYALTY_RETENTION_",
    "WebhookSettings": "LOYALTY_WEBHOOKS_",
    "RecommendSettings": "LOYALTY_RECOMMEND_",
    "DigestSettings": "LOYALTY_DIGEST_",
    "ReportSettings": "LOYALTY_REPORTS_",
}


def _describe(exc: ValidationError) -> str:
    prefix = _PREFIXES.get(exc.title, "LOYALTY_")
    lines = []
    for err in exc.errors():
        key = prefix + "_".join(str(p) for p in err["loc"]).upper()
        lines.append(f"{key}: {err['msg']} (got {mask_setting(key, err.get('input'))!r})")
    return "invalid settings: " + "; ".join(lines)


_SECRET_NAME = re.compile(r"SECRET|PASSWORD|TOKEN|PRIVATE|_KEY$|_KEYS?_|CREDENTIAL", re.IGNORECASE)
_SECRET_QUERY = re.compile(r"pass|secret|token|key|auth|cred", re.IGNORECASE)
MASK = "***"


def mask_url(url: str) -> str:
    """A URL fit to show: its password and any secret-looking query value replaced by ***."""
    try:
        parts = urlsplit(url)
        netloc = parts.netloc
        if "@" in netloc:
            userinfo, _, host = netloc.rpartition("@")
            user = userinfo.split(":", 1)[0]
            netloc = f"{user}:{MASK}@{host}" if ":" in userinfo else f"{user}@{host}"
        pairs = parse_qsl(parts.query, keep_blank_values=True)
        query = urlencode([(k, MASK if _SECRET_QUERY.search(k) else v) for k, v in pairs], safe="*")
        if netloc == parts.netloc and not any(_SECRET_QUERY.search(k) for k, _ in pairs):
            return url
        return (
            f"{parts.scheme}://{netloc}{parts.path}"
            + (f"?{query}" if query else "")
            + (f"#{parts.fragment}" if parts.fragment else "")
        )
    except ValueError:
        return MASK


def mask_setting(name: str, value: object) -> object:
    """What an error message may show of a setting's value: nothing of a secret, a URL without its
    password."""
    if value is None or isinstance(value, bool | int | float):
        return value
    if _SECRET_NAME.search(name):
        return MASK
    if isinstance(value, str) and "://" in value:
        return mask_url(value)
    if isinstance(value, str) and ":" in value.partition("@")[0] and "@" in value:  # user:password@host
        return MASK
    if isinstance(value, dict):
        return {k: mask_setting(f"{name}_{k}", v) for k, v in value.items()}
    return value
