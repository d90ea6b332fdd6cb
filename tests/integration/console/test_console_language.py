"""The console speaks Russian and English: the browser's language (Russian when it asks for neither) until a
staff member picks one in the header; then that choice, kept on the account."""

from __future__ import annotations

from sqlalchemy import select

from shared.core import Core
from shared.db.models.console import StaffAccount
from tests.integration.console.test_console_routes import Console, console, password_hash, signed_in, staff

__all__ = ["console", "password_hash", "staff"]  # fixtures, used by name


async def test_the_console_is_russian_when_the_browser_asks_for_neither(console: Console) -> None:
    console.language = None
    login = await console.get("/console/login")
    assert login.status_code == 200
    assert '<html lang="ru">' in login.text
    assert "Вход" in login.text
    await signed_in(console, "marketer")
    for header in (None, "de-DE,de;q=0.9"):
        console.language = header
        home = await console.get("/console")
        assert '<html lang="ru">' in home.text
        assert "Отчёты" in home.text
        assert "Настройки программы" in home.text
        assert "Выйти" in home.text
        assert "Ваша роль:" in home.text
        assert "маркетолог" in home.text
    program = await console.get("/console/program")
    assert "Приветственный бонус, баллов" in program.text
    assert "Welcome bonus" not in program.text


async def test_the_console_follows_an_english_browser(console: Console) -> None:
    console.language = "en-GB,en;q=0.9,ru;q=0.5"
    await signed_in(console, "admin")
    home = await console.get("/console")
    assert '<html lang="en">' in home.text
    assert "Reports" in home.text
    assert "Sign out" in home.text
    assert "Отчёты" not in home.text
    staff_page = await console.get("/console/staff")
    assert "Last sign-in" in staff_page.text


async def test_the_stored_choice_wins_over_the_browser(console: Console, core: Core) -> None:
    console.language = "en"
    await signed_in(console, "analyst")
    picked = await console.post("/console/language", {"language": "ru", "back": "/console/reports"})
    assert picked.status_code == 303
    assert picked.headers["location"] == "/console/reports"
    async with core.reading() as session:
        stored = (
            await session.execute(select(StaffAccount.language).where(StaffAccount.email == "analyst@example.com"))
        ).scalar_one()
    assert stored == "ru"
    home = await console.get("/console")  # the browser still asks for English
    assert '<html lang="ru">' in home.text
    assert "Отчёты" in home.text
    assert '<option value="ru" lang="ru" selected>' in home.text
    back = await console.post("/console/language", {"language": "en", "back": "https://evil.example/"})
    assert back.status_code == 303
    assert back.headers["location"] == "/console"
    console.language = None
    assert "Reports" in (await console.get("/console")).text


async def test_a_language_we_do_not_have_is_a_field_error_and_nothing_changes(console: Console, core: Core) -> None:
    await signed_in(console, "support")
    refused = await console.post("/console/language", {"language": "de"})
    assert refused.status_code == 422
    assert "language" in refused.text
    async with core.reading() as session:
        stored = (
            await session.execute(select(StaffAccount.language).where(StaffAccount.email == "support@example.com"))
        ).scalar_one()
    assert stored is None


async def test_error_pages_and_messages_are_translated(console: Console) -> None:
    console.language = "ru"
    wrong = await console.sign_in("admin@example.com", "not the password")
    assert wrong.status_code == 401
    assert "Неверный e-mail или пароль." in wrong.text
    await signed_in(console, "support")
    forbidden = await console.get("/console/reports")
    assert forbidden.status_code == 403
    assert "Нет доступа" in forbidden.text
