"""Every word of the cabinet in ru (default) and en."""

from __future__ import annotations

from typing import Any

from shared.plurals import points_text

TEXTS: dict[str, dict[str, str]] = {
    "ru": {
        "app_name": "Личный кабинет", "skip_to_content": "Перейти к содержимому",
        "nav": "Разделы кабинета", "nav_card": "Карта", "nav_balance": "Баланс", "nav_history": "История",
        "nav_offers": "Предложения", "nav_purchases": "Покупки", "nav_profile": "Профиль",
        "login_title": "Вход", "login_lead": "Введите номер телефона — мы пришлём код для входа.",
        "phone": "Номер телефона", "phone_hint": "Например, +7 916 123-45-67", "get_code": "Получить код",
        "code": "Код из сообщения", "code_hint": "6 цифр", "sign_in": "Войти", "code_sent": "Код отправлен на {phone}.",
        "resend": "Отправить код ещё раз", "other_phone": "Другой номер",
        "wrong_code": "Неверный код. Осталось попыток: {left}.",
        "code_expired": "Код больше не действует. Запросите новый.",
        "wait": "Новый код можно запросить через {seconds} с.",
        "limited": "Слишком много кодов. Попробуйте позже.",
        "too_many_guesses": "Слишком много неверных кодов. Попробуйте через {seconds} мин.",
        "country": "Коды для входа отправляются только на номера с кодом страны {countries}.",
        "bad_phone": "Не получилось прочитать номер. Пример: +7 916 123-45-67.",
        "register_title": "Регистрация", "register_lead": "Номер {phone} подтверждён. Осталось немного.",
        "first_name": "Имя (необязательно)", "consents": "Можно ли присылать вам новости и акции?",
        "consent_sms": "По SMS", "consent_email": "По e-mail", "consent_push": "Push-уведомлениями",
        "consent_telegram": "В Telegram", "consent_viber": "В Viber",
        "rules_accept": "Я принимаю правила программы лояльности", "rules_required": "Нужно принять правила.",
        "register": "Зарегистрироваться", "logout": "Выйти", "session_over": "Сеанс завершён, войдите снова.",
        "telegram_title": "Вход через Telegram", "telegram_wait": "Входим…",
        "telegram_failed": "Не удалось войти через Telegram. Войдите по номеру телефона.",
        "telegram_unlinked": "Этот Telegram ещё не связан с картой. Отправьте боту свой контакт или войдите по номеру.",
        "card_title": "Моя карта", "card_number": "Номер карты", "qr_alt": "QR-код карты {card}",
        "barcode_alt": "Штрихкод карты {card}", "show_at_till": "Покажите код на кассе",
        "apple_wallet": "Добавить в Apple Wallet", "google_wallet": "Сохранить в Google Wallet",
        "balance_as_of": "Баланс на {time}", "offline": "Нет сети — показаны последние известные данные.",
        "available": "Доступно", "pending": "Ожидают начисления",
        "pending_line": "{points} — с {date}",
        "expiring": "Скоро сгорят", "expiring_line": "{points} — {date}", "tier": "Уровень {tier}: {percent}%",
        "tier_next": "До уровня «{tier}» осталось {needed} ₽", "tier_top": "У вас высший уровень",
        "tier_progress": "Прогресс до следующего уровня", "nothing": "Пока ничего нет.",
        "history_title": "История баллов", "more": "Показать ещё", "loading": "Загрузка…",
        "entry_accrual": "Начисление", "entry_redemption": "Списание за покупку", "entry_bonus": "Бонус",
        "entry_expiry": "Сгорание", "entry_refund": "Возврат покупки",
        "entry_adjustment": "Корректировка",
        "offers_title": "Предложения", "offers_welcome": "Приветственный бонус: {points}",
        "offers_tier": "{name}: от {threshold} ₽ в год — {percent}% баллами",
        "offers_birthday": "В день рождения и за 2 дня до него — {percent}% баллами",
        "offers_rules": "Баллы доступны через {pending} ч и сгорают через {expiry} дн.; ими можно оплатить до "
                        "{cap}% покупки.",
        "purchases_title": "Мои покупки", "by_month": "Траты по месяцам", "by_category": "Траты по категориям",
        "spent_total": "Всего за 12 месяцев: {total} ₽ в {count} покупках", "rub": "₽",
        "category_other": "Другое",
        "profile_title": "Профиль", "name": "Имя", "last_name": "Фамилия", "birth_date": "Дата рождения",
        "birth_date_once": "Дату рождения можно указать один раз.", "language": "Язык", "save": "Сохранить",
        "saved": "Сохранено.", "email": "E-mail", "email_send": "Подтвердить e-mail",
        "email_sent": "Мы отправили ссылку для подтверждения на {email}.", "email_confirmed": "E-mail подтверждён.",
        "email_unconfirmed": "не подтверждён", "email_link_bad": "Ссылка устарела или неверна.",
        "bad_email": "Это не похоже на адрес e-mail.", "bad_date": "Укажите настоящую дату рождения.",
        "bad_name": "В имени есть недопустимые символы; до 100 букв.",
        "consents_title": "Согласия на сообщения", "consent_given": "дано {date}",
        "consent_withdrawn": "отозвано {date}",
        "consent_none": "не давалось", "push_title": "Push-уведомления в этом браузере",
        "push_enable": "Включить уведомления", "push_on": "Уведомления включены.",
        "push_unsupported": "Этот браузер не поддерживает push-уведомления.",
        "push_taken": "В этом браузере уведомления уже включены для другой карты.",
        "install": "Установить приложение", "not_found": "Такой страницы нет.", "error": "Что-то пошло не так.",
        "bad_request": "Проверьте введённые данные.", "csrf": "Страница устарела. Обновите её и повторите.",
        "my_data_title": "Мои данные", "my_data_lead": "Всё, что программа хранит о вас, — одним файлом JSON.",
        "my_data_download": "Скачать мои данные",
        "delete_title": "Удалить аккаунт",
        "delete_lead": "Мы удалим ваш телефон, имя, e-mail, дату рождения, Telegram, согласия и тексты сообщений. "
                       "Баллы и карта перестанут действовать. Отменить это нельзя.",
        "delete_start": "Удалить аккаунт…",
        "delete_code_sent": "Мы отправили код. Введите его, чтобы удалить аккаунт.",
        "delete_code": "Код из сообщения", "delete_confirm": "Удалить навсегда",
        "deleted_title": "Аккаунт удалён",
        "deleted_text": "Ваши персональные данные удалены. С этим номером можно зарегистрироваться снова — с нуля.",
    },
    "en": {
        "app_name": "My account", "skip_to_content": "Skip to content",
        "nav": "Account sections", "nav_card": "Card", "nav_balance": "Balance", "nav_history": "History",
        "nav_offers": "Offers", "nav_purchases": "Purchases", "nav_profile": "Profile",
        "login_title": "Sign in", "login_lead": "Enter your phone number and we will send you a sign-in code.",
        "phone": "Phone number", "phone_hint": "For example, +7 916 123-45-67", "get_code": "Get a code",
        "code": "Code from the message", "code_hint": "6 digits", "sign_in": "Sign in",
        "code_sent": "Code sent to {phone}.",
        "resend": "Send the code again", "other_phone": "Another number",
        "wrong_code": "Wrong code. Attempts left: {left}.",
        "code_expired": "This code no longer works. Ask for a new one.",
        "wait": "You can ask for a new code in {seconds} s.",
        "limited": "Too many codes. Please try later.",
        "too_many_guesses": "Too many wrong codes. Please try again in {seconds} min.",
        "country": "Sign-in codes are sent only to numbers with the country code {countries}.",
        "bad_phone": "That does not look like a phone number. Example: +7 916 123-45-67.",
        "register_title": "Join", "register_lead": "Number {phone} confirmed. Almost done.",
        "first_name": "First name (optional)", "consents": "May we send you news and offers?",
        "consent_sms": "By SMS", "consent_email": "By e-mail", "consent_push": "By push notifications",
        "consent_telegram": "In Telegram", "consent_viber": "In Viber",
        "rules_accept": "I accept the loyalty program rules", "rules_required": "Please accept the rules.",
        "register": "Join", "logout": "Sign out", "session_over": "Your session ended, please sign in again.",
        "telegram_title": "Sign in with Telegram", "telegram_wait": "Signing in…",
        "telegram_failed": "Could not sign in with Telegram. Please sign in with your phone number.",
        "telegram_unlinked": "This Telegram account is not linked to a card yet. Share your contact with the bot "
                             "or sign in with your number.",
        "card_title": "My card", "card_number": "Card number", "qr_alt": "QR code of card {card}",
        "barcode_alt": "Barcode of card {card}", "show_at_till": "Show this code at the till",
        "apple_wallet": "Add to Apple Wallet", "google_wallet": "Save to Google Wallet",
        "balance_as_of": "Balance as of {time}", "offline": "Offline: showing the last known data.",
        "available": "Available", "pending": "Pending", "pending_line": "{points} from {date}",
        "expiring": "Expiring soon", "expiring_line": "{points} on {date}", "tier": "Tier {tier}: {percent}%",
        "tier_next": "{needed} ₽ more to reach {tier}", "tier_top": "You are at the top tier",
        "tier_progress": "Progress to the next tier", "nothing": "Nothing yet.",
        "history_title": "Points history", "more": "Show more", "loading": "Loading…",
        "entry_accrual": "Earned", "entry_redemption": "Spent on a purchase", "entry_bonus": "Bonus",
        "entry_expiry": "Expired", "entry_refund": "Purchase refunded",
        "entry_adjustment": "Adjustment",
        "offers_title": "Offers", "offers_welcome": "Welcome bonus: {points}",
        "offers_tier": "{name}: from {threshold} ₽ a year, {percent}% back in points",
        "offers_birthday": "On your birthday and the 2 days before: {percent}% back in points",
        "offers_rules": "Points are usable after {pending} h and expire after {expiry} days; they pay up to {cap}% "
                        "of a purchase.",
        "purchases_title": "My purchases", "by_month": "Spend by month", "by_category": "Spend by category",
        "spent_total": "Last 12 months: {total} ₽ in {count} purchases", "rub": "₽",
        "category_other": "Other",
        "profile_title": "Profile", "name": "First name", "last_name": "Last name", "birth_date": "Birth date",
        "birth_date_once": "The birth date can be set once.", "language": "Language", "save": "Save",
        "saved": "Saved.", "email": "E-mail", "email_send": "Confirm e-mail",
        "email_sent": "We sent a confirmation link to {email}.", "email_confirmed": "E-mail confirmed.",
        "email_unconfirmed": "not confirmed", "email_link_bad": "The link is outdated or wrong.",
        "bad_email": "That does not look like an e-mail address.", "bad_date": "Enter a real birth date.",
        "bad_name": "The name has characters a name cannot have; at most 100 letters.",
        "consents_title": "Consent to messages", "consent_given": "given {date}",
        "consent_withdrawn": "withdrawn {date}",
        "consent_none": "never given", "push_title": "Push notifications in this browser",
        "push_enable": "Turn on notifications", "push_on": "Notifications are on.",
        "push_unsupported": "This browser does not support push notifications.",
        "push_taken": "Notifications in this browser are already on for another card.",
        "install": "Install the app", "not_found": "There is no such page.", "error": "Something went wrong.",
        "bad_request": "Please check what you entered.", "csrf": "This page is outdated. Reload it and try again.",
        "my_data_title": "My data", "my_data_lead": "Everything the program keeps about you, in one JSON file.",
        "my_data_download": "Download my data",
        "delete_title": "Delete my account",
        "delete_lead": "We will delete your phone, name, e-mail, birth date, Telegram, consents and message texts. "
                       "Your points and card will stop working. This cannot be undone.",
        "delete_start": "Delete my account…",
        "delete_code_sent": "We sent you a code. Enter it to delete your account.",
        "delete_code": "Code from the message", "delete_confirm": "Delete for good",
        "deleted_title": "Account deleted",
        "deleted_text": "Your personal data has been deleted. You can join again with this number, starting from zero.",
    },
}


def points_word(language: str) -> Any:
    """`points_word(n)` for templates: the noun that goes after the number n (балл, балла, баллов)."""
    def word(n: int) -> str:
        return points_text(int(n), language).split(" ", 1)[1]

    return word


def translator(language: str) -> Any:
    """`t(key, **values)` for templates, in the given language (ru when unknown)."""
    table = TEXTS.get(language, TEXTS["ru"])

    def t(key: str, **values: object) -> str:
        text = table.get(key) or TEXTS["ru"].get(key, key)
        return text.format(**values) if values else text

    return t
