"""Everything the bot says, in Russian (default) and English."""

from __future__ import annotations

from typing import Any

TEXTS: dict[str, dict[str, str]] = {
    "ru": {
        "ask_contact": "Здравствуйте! Чтобы получить карту лояльности, поделитесь номером телефона — кнопка ниже.",
        "share_contact": "📱 Поделиться номером",
        "not_your_contact": "Это не ваш номер. Нажмите кнопку «Поделиться номером», чтобы отправить свой.",
        "welcome_new": "Готово! Ваша карта {card}. Приветственный бонус на ней: {balance}.",
        "welcome_linked": "Нашли вашу карту {card}. Баланс: {balance}.",
        "linked_elsewhere": "Этот номер уже привязан к другому аккаунту Telegram. Обратитесь в поддержку магазина.",
        "menu": "Меню ниже: баланс, карта, история и помощь.",
        "btn_balance": "💰 Баланс",
        "btn_card": "💳 Карта",
        "btn_history": "🧾 История",
        "btn_help": "❓ Помощь",
        "balance": "Доступно: {available}\nОжидают: {pending}{pending_lines}\n{expiring}"
        "Уровень: {tier} ({percent}% баллами)\n{progress}",
        "pending_line": "\n  • {points} — с {date}",
        "expiring": "Сгорят в ближайшие 30 дней: {points}\n",
        "progress": "До уровня «{next}»: {needed} ₽\n{bar}",
        "top_tier": "У вас высший уровень.",
        "card": "Карта {card}\nПокажите QR-код на кассе.",
        "apple": "Добавить в Apple Wallet",
        "google": "Добавить в Google Wallet",
        "cabinet": "Личный кабинет",
        "history_empty": "Операций пока нет.",
        "history": "Последние операции:\n{lines}",
        "help": "Баллы начисляются за покупки: {rate}% от оплаченного деньгами, доступны через 24 ч, сгорают "
        "через 180 дней. Баллами можно оплатить до 70% покупки. В день рождения — {birthday}%.",
        "register_first": "Сначала получите карту: нажмите /start.",
        "btn_offers": "🎁 Предложения",
        "btn_settings": "⚙️ Настройки",
        "ask_birthday": "Укажите дату рождения (ДД.ММ.ГГГГ) — в день рождения баллов начисляется больше. "
        "Или нажмите «Пропустить».",
        "skip": "Пропустить",
        "bad_date": "Не получилось прочитать дату. Пример: 17.05.1990. Или «Пропустить».",
        "ask_consent": "Присылать вам в Telegram и по SMS сообщения о баллах и акциях?",
        "yes": "Да",
        "no": "Нет",
        "consent_yes": "Будем писать. Изменить можно в «Настройках».",
        "consent_no": "Не будем присылать акции. Изменить можно в «Настройках».",
        "offers": "Уровни программы:\n{tiers}\nВ день рождения и за 2 дня до него — {birthday}%.\n"
        "Баллы доступны через {pending} ч и сгорают через {expiry} дн.; "
        "баллами можно оплатить до {cap}% покупки.",
        "tier_line": "• {name}: от {threshold} ₽ в год — {percent}%",
        "settings": "Настройки. Язык и каналы, по которым мы пишем вам:",
        "on": "✅",
        "off": "❌",
        "saved": "Сохранено",
        "channel_sms": "SMS",
        "channel_viber": "Viber",
        "channel_email": "E-mail",
        "channel_push": "Push",
        "channel_telegram": "Telegram",
        "older": "◀️ Раньше",
        "newer": "Позже ▶️",
        "too_fast": "Слишком быстро — подождите пару секунд.",
        "use_menu": "Я понимаю кнопки меню ниже. Если что-то не так — /help.",
    },
    "en": {
        "ask_contact": "Hello! To get your loyalty card, share your phone number with the button below.",
        "share_contact": "📱 Share my number",
        "not_your_contact": "That is not your number. Tap “Share my number” to send your own.",
        "welcome_new": "Done! Your card is {card} with {balance} welcome points.",
        "welcome_linked": "We found your card {card}. Balance: {balance} points.",
        "linked_elsewhere": "This number is already linked to another Telegram account. Please contact the store.",
        "menu": "The menu below has your balance, card, history and help.",
        "btn_balance": "💰 Balance",
        "btn_card": "💳 Card",
        "btn_history": "🧾 History",
        "btn_help": "❓ Help",
        "balance": "Available: {available} points\nPending: {pending}{pending_lines}\n{expiring}"
        "Tier: {tier} ({percent}% back in points)\n{progress}",
        "pending_line": "\n  • {points} — from {date}",
        "expiring": "Expiring within 30 days: {points}\n",
        "progress": "To {next}: {needed} ₽\n{bar}",
        "top_tier": "You are at the top tier.",
        "card": "Card {card}\nShow the QR code at the till.",
        "apple": "Add to Apple Wallet",
        "google": "Add to Google Wallet",
        "cabinet": "My account",
        "history_empty": "No operations yet.",
        "history": "Latest operations:\n{lines}",
        "help": "You earn {rate}% of what you pay in money, usable after 24 h, expiring after 180 days. Points pay up "
        "to 70% of a purchase. Around your birthday: {birthday}%.",
        "register_first": "Get your card first: tap /start.",
        "btn_offers": "🎁 Offers",
        "btn_settings": "⚙️ Settings",
        "ask_birthday": "Your birth date (DD.MM.YYYY): you earn more points around your birthday. Or tap “Skip”.",
        "skip": "Skip",
        "bad_date": "I could not read that date. Example: 17.05.1990. Or tap “Skip”.",
        "ask_consent": "May we send you messages about points and offers in Telegram and by SMS?",
        "yes": "Yes",
        "no": "No",
        "consent_yes": "We will. You can change this in Settings.",
        "consent_no": "No offers then. You can change this in Settings.",
        "offers": "Tiers:\n{tiers}\nOn your birthday and the 2 days before: {birthday}%.\n"
        "Points are usable after {pending} h and expire after {expiry} days; points pay up to {cap}% "
        "of a purchase.",
        "tier_line": "• {name}: from {threshold} ₽ a year — {percent}%",
        "settings": "Settings. Language, and the channels we may write to you on:",
        "on": "✅",
        "off": "❌",
        "saved": "Saved",
        "channel_sms": "SMS",
        "channel_viber": "Viber",
        "channel_email": "E-mail",
        "channel_push": "Push",
        "channel_telegram": "Telegram",
        "older": "◀️ Older",
        "newer": "Newer ▶️",
        "too_fast": "Too fast — please wait a couple of seconds.",
        "use_menu": "I understand the menu buttons below. If something is wrong: /help.",
    },
}


def language_of(code: str | None) -> str:
    return "ru" if not code or code.split("-")[0].lower() != "en" else "en"


def t(language: str, key: str, **values: Any) -> str:
    return TEXTS.get(language, TEXTS["ru"])[key].format(**values)


def button_texts(key: str) -> set[str]:
    """A menu button in any language (the keyboard a user has may predate a language change)."""
    return {texts[key] for texts in TEXTS.values()}
