"""A wrong setting or rule stops the start with a message naming the key."""

from __future__ import annotations

from pathlib import Path

import pytest

from shared.config import load_settings
from shared.errors import ConfigError
from shared.program import DEFAULT_PROGRAM_FILE, load_program


def test_default_rules_match_the_design() -> None:
    rules = load_program()
    assert [(t.code, t.threshold, t.accrual_percent) for t in rules.tiers] == [
        ("standard", 0, 5),
        ("gold", 30000, 10),
        ("platinum", 100000, 15),
    ]
    assert (rules.pending_hours, rules.expiry_days, rules.redemption_cap_percent) == (24, 180, 70)
    assert (rules.welcome.points, rules.birthday.days_before, rules.birthday.accrual_percent) == (100, 2, 14)
    assert rules.time_zone == "Europe/Moscow"


def _program(tmp_path: Path, replace: tuple[str, str]) -> Path:
    text = DEFAULT_PROGRAM_FILE.read_text(encoding="utf-8").replace(*replace)
    path = tmp_path / "program.toml"
    path.write_text(text, encoding="utf-8")
    return path


@pytest.mark.parametrize(
    ("replace", "named"),
    [
        (("redemption_cap_percent = 70", "redemption_cap_percent = 170"), "redemption_cap_percent"),
        (('time_zone = "Europe/Moscow"', 'time_zone = "Mars/Olympus"'), "time_zone"),
        (("threshold = 30000", "threshold = 0"), "tiers"),
        (("services = 0.5", "services = -1"), "category_multipliers"),
        (('phone_region = "RU"', 'phone_region = "XX"'), "phone_region"),
        (("expiry_days = 180", "expiry_days = 180\nexpiry_dayz = 3"), "expiry_dayz"),
    ],
)
def test_a_bad_rule_names_its_key(tmp_path: Path, replace: tuple[str, str], named: str) -> None:
    with pytest.raises(ConfigError) as caught:
        load_program(_program(tmp_path, replace))
    assert named in str(caught.value)


def test_broken_toml_and_missing_file_name_the_setting(tmp_path: Path) -> None:
    broken = tmp_path / "broken.toml"
    broken.write_text("tiers = [", encoding="utf-8")
    with pytest.raises(ConfigError, match="LOYALTY_PROGRAM_FILE"):
        load_program(broken)
    with pytest.raises(ConfigError, match="LOYALTY_PROGRAM_FILE"):
        load_program(tmp_path / "absent.toml")


def test_settings_errors_name_the_environment_variable(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="LOYALTY_PUBLIC_URL"):
        load_settings(public_url="ftp://example", var_dir=tmp_path)
    with pytest.raises(ConfigError, match="LOYALTY_DATABASE_URL"):
        load_settings(database_url="mysql://x", var_dir=tmp_path)
    with pytest.raises(ConfigError, match="LOYALTY_PROGRAM_FILE"):
        load_settings(program_file=tmp_path / "none.toml", var_dir=tmp_path)


def test_section_errors_name_their_prefix(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LOYALTY_SMS_PROVIDER", "pigeon")
    with pytest.raises(ConfigError, match="LOYALTY_SMS_PROVIDER"):
        load_settings(var_dir=tmp_path)


def _dotenv(path: Path, *lines: str) -> Path:
    path.write_text("\n".join(["# deployment settings", "POSTGRES_PASSWORD=not-ours", *lines]) + "\n", encoding="utf-8")
    return path


def test_the_dotenv_file_in_the_working_directory_is_read(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("LOYALTY_ENV_FILE", raising=False)
    _dotenv(
        tmp_path / ".env",
        "LOYALTY_PUBLIC_URL=https://loyalty.example.com/",
        "LOYALTY_TELEGRAM_TOKEN=123:abc",
        "LOYALTY_SMS_PROVIDER=smsc",
        "LOYALTY_DB_STATEMENT_CACHE_SIZE=0",
        'LOYALTY_TRUSTED_PROXIES="10.0.0.5, 172.18.0.0/16"',
        "LOYALTY_DB_POOL_SIZE=4",
    )
    monkeypatch.setenv("LOYALTY_DB_POOL_SIZE", "7")  # the environment wins over the file
    settings = load_settings(var_dir=tmp_path)
    assert settings.public_url == "https://loyalty.example.com"
    assert settings.telegram.token is not None
    assert settings.telegram.token.get_secret_value() == "123:abc"
    assert settings.sms.provider == "smsc"  # sections read it with their own prefix
    assert settings.db_statement_cache_size == 0
    assert settings.trusted_proxies == "10.0.0.5,172.18.0.0/16"
    assert settings.db_pool_size == 7


def test_another_dotenv_file_and_its_errors_name_the_key(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    elsewhere = _dotenv(tmp_path / "prod.env", "LOYALTY_EMAIL_PROVIDER=pigeon")
    monkeypatch.setenv("LOYALTY_ENV_FILE", str(elsewhere))
    with pytest.raises(ConfigError, match="LOYALTY_EMAIL_PROVIDER"):
        load_settings(var_dir=tmp_path)
    _dotenv(elsewhere, "LOYALTY_DB_STATEMENT_CACHE_SIZE=-1")
    with pytest.raises(ConfigError, match="LOYALTY_DB_STATEMENT_CACHE_SIZE"):
        load_settings(var_dir=tmp_path)
    monkeypatch.setenv("LOYALTY_ENV_FILE", str(tmp_path / "absent.env"))  # no file: environment only
    assert load_settings(var_dir=tmp_path).db_statement_cache_size is None


@pytest.mark.parametrize(
    ("given", "kept"),
    [("", ""), ("*", "*"), (" 127.0.0.1 ", "127.0.0.1"), ("10.0.0.5,172.18.0.0/16,::1", "10.0.0.5,172.18.0.0/16,::1")],
)
def test_trusted_proxies_are_addresses_or_networks(tmp_path: Path, given: str, kept: str) -> None:
    assert load_settings(var_dir=tmp_path, trusted_proxies=given).trusted_proxies == kept


@pytest.mark.parametrize("given", ["proxy.local", "10.0.0.300", "*,10.0.0.1"])
def test_a_proxy_that_is_not_an_address_names_the_setting(tmp_path: Path, given: str) -> None:
    with pytest.raises(ConfigError, match="LOYALTY_TRUSTED_PROXIES"):
        load_settings(var_dir=tmp_path, trusted_proxies=given)


def test_a_webhook_secret_telegram_would_refuse_names_the_setting(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("LOYALTY_TELEGRAM_WEBHOOK_SECRET", "not allowed!")
    with pytest.raises(ConfigError, match="LOYALTY_TELEGRAM_WEBHOOK_SECRET"):
        load_settings(var_dir=tmp_path)
    monkeypatch.setenv("LOYALTY_TELEGRAM_WEBHOOK_SECRET", "Ab_9-" * 10)
    assert load_settings(var_dir=tmp_path).telegram.webhook_secret is not None


def test_a_dkim_key_needs_its_selector_and_domain_and_is_never_shown(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    pem = "-----BEGIN PRIVATE KEY-----\nMIIEvQIBADANBgkqhkiG9w0BAQEFAASC\n-----END PRIVATE KEY-----\n"
    monkeypatch.setenv("LOYALTY_DKIM_PRIVATE_KEY", pem)
    with pytest.raises(ConfigError, match="LOYALTY_DKIM_SELECTOR") as refused:
        load_settings(var_dir=tmp_path)
    assert "MIIE" not in str(refused.value)
    monkeypatch.setenv("LOYALTY_DKIM_PRIVATE_KEY_FILE", str(tmp_path / "dkim.pem"))
    with pytest.raises(ConfigError, match="not both"):
        load_settings(var_dir=tmp_path)
    monkeypatch.delenv("LOYALTY_DKIM_PRIVATE_KEY_FILE")
    monkeypatch.setenv("LOYALTY_DKIM_SELECTOR", "s2026")
    monkeypatch.setenv("LOYALTY_DKIM_DOMAIN", "shop.example")
    dkim = load_settings(var_dir=tmp_path).dkim
    assert dkim.enabled
    assert dkim.key_pem() == pem.encode()
    assert "MIIE" not in repr(dkim)
