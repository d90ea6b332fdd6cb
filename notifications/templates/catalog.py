"""The transactional set in ru (default) and en. SMS texts stay short: Cyrillic SMS is 70 characters."""

from __future__ import annotations

CATALOG: dict[str, dict[str, dict[str, str]]] = {
    "ru": {
        "member_registered": {
            "sms": "Ваша карта {{ card }}: {{ balance|points }}. {{ card_url }}",
            "subject": "Добро пожаловать в {{ program }}",
            "text": "{% if name %}{{ name }}, з{% else %}З{% endif %}дравствуйте! Ваша карта {{ card }} готова, "
            "на ней приветственные {{ balance|points }}.\nКарта и баланс: {{ card_url }}",
        },
        "points_accrued": {
            "sms": "+{{ points|points }}{% if available_on %} с {{ available_on }}{% endif %}. Баланс {{ balance }}",
            "subject": "Начислено: {{ points|points }}",
            "text": "Начислено: {{ points|points }}{% if available_on %}, ими можно будет оплатить покупку "
            "с {{ available_on }}{% endif %}.\nДоступно сейчас: {{ balance }}, ожидают: {{ pending }}.",
        },
        "points_available": {
            "sms": "Можно тратить: {{ points|points }}. Баланс {{ balance }}",
            "subject": "Баллы можно тратить",
            "text": "Теперь можно тратить: {{ points|points }}. Баланс: {{ balance }}.",
        },
        "tier_changed": {
            "sms": "Ваш уровень: {{ tier }}, {{ percent }}% баллами",
            "subject": "Новый уровень: {{ tier }}",
            "text": "Поздравляем! Ваш уровень теперь «{{ tier }}»: {{ percent }}% от покупок возвращается баллами.",
        },
        "points_expiring": {
            "sms": "Через {{ days }} дн. сгорят {{ points|points }}. Баланс {{ balance }}",
            "subject": "Скоро сгорят {{ points|points }}",
            "text": "{{ expires_on }} (через {{ days }} дн.) сгорят {{ points|points }}. Успейте ими оплатить "
            "покупку.\nБаланс: {{ balance }}.",
        },
        "purchase_refunded": {
            "sms": "Возврат: списано {{ reversed }}, возвращено {{ restored }}. Баланс {{ balance }}",
            "subject": "Возврат покупки",
            "text": "Оформлен возврат. Списано начисленных баллов: {{ reversed }}, возвращено потраченных: "
            "{{ restored }}.\nБаланс: {{ balance }}.",
        },
        "birthday": {
            "sms": "С днём рождения! {{ percent }}% баллами до {{ birthday_on }}",
            "subject": "С днём рождения!",
            "text": "С наступающим днём рождения! До {{ birthday_on }} включительно покупки возвращаются "
            "баллами по ставке {{ percent }}%.",
        },
        "bonus_granted": {
            "sms": "Бонус +{{ points|points }} до {{ expires_on }}. Баланс {{ balance }}",
            "subject": "Бонус: {{ points|points }}",
            "text": "Вам начислен бонус: {{ points|points }}, ими можно оплатить покупку до {{ expires_on }}.\n"
            "Баланс: {{ balance }}.",
        },
        "login_code": {
            "sms": "Код входа: {{ code }}. Никому его не сообщайте",
            "subject": "Код входа",
            "text": "Код для входа в личный кабинет: {{ code }}. Он действует 5 минут. Никому его не сообщайте.",
        },
        "email_confirmation": {
            "sms": "Подтвердите e-mail: {{ link }}",
            "subject": "Подтвердите e-mail",
            "text": "Чтобы получать письма программы {{ program }} на этот адрес, подтвердите его по ссылке "
            "(действует сутки):\n{{ link }}\nЕсли вы не указывали этот адрес, просто проигнорируйте письмо.",
        },
    },
    "en": {
        "member_registered": {
            "sms": "Your card {{ card }}: {{ balance|points }}. {{ card_url }}",
            "subject": "Welcome to {{ program }}",
            "text": "Hello{% if name %}, {{ name }}{% endif %}! Your card {{ card }} is ready with {{ balance }} "
            "welcome points.\nCard and balance: {{ card_url }}",
        },
        "points_accrued": {
            "sms": "+{{ points|points }}{% if available_on %} from {{ available_on }}{% endif %}. "
            "Balance {{ balance }}",
            "subject": "{{ points|points }} earned",
            "text": "You earned {{ points|points }}{% if available_on %}, usable from {{ available_on }}{% endif %}."
            "\nAvailable now: {{ balance }}, pending: {{ pending }}.",
        },
        "points_available": {
            "sms": "Now available: {{ points|points }}. Balance {{ balance }}",
            "subject": "Your points are ready",
            "text": "Now you can spend {{ points|points }}. Balance: {{ balance }}.",
        },
        "tier_changed": {
            "sms": "Your tier: {{ tier }}, {{ percent }}% back in points",
            "subject": "New tier: {{ tier }}",
            "text": "Congratulations! You are now {{ tier }}: {{ percent }}% of your purchases come back as points.",
        },
        "points_expiring": {
            "sms": "{{ points|points }} expire in {{ days }} days. Balance {{ balance }}",
            "subject": "{{ points|points }} expire soon",
            "text": "{{ points|points }} expire on {{ expires_on }} (in {{ days }} days). Spend them before then."
            "\nBalance: {{ balance }}.",
        },
        "purchase_refunded": {
            "sms": "Refund: {{ reversed }} taken back, {{ restored }} returned. Balance {{ balance }}",
            "subject": "Purchase refunded",
            "text": "Your refund is done: {{ reversed }} earned points were taken back and {{ restored }} spent "
            "points returned.\nBalance: {{ balance }}.",
        },
        "birthday": {
            "sms": "Happy birthday! {{ percent }}% back in points until {{ birthday_on }}",
            "subject": "Happy birthday!",
            "text": "Happy birthday! Until {{ birthday_on }} your purchases earn {{ percent }}% back in points.",
        },
        "bonus_granted": {
            "sms": "+{{ points }} bonus points until {{ expires_on }}. Balance {{ balance }}",
            "subject": "{{ points }} bonus points for you",
            "text": "You got {{ points }} bonus points; spend them on a purchase by {{ expires_on }}.\n"
            "Balance: {{ balance }}.",
        },
        "login_code": {
            "sms": "Login code: {{ code }}. Do not share it",
            "subject": "Your login code",
            "text": "Your code for the personal cabinet: {{ code }}. It is valid for 5 minutes. Do not share it.",
        },
        "email_confirmation": {
            "sms": "Confirm your e-mail: {{ link }}",
            "subject": "Confirm your e-mail",
            "text": "To get {{ program }} e-mails at this address, confirm it with this link (valid for a day):"
            "\n{{ link }}\nIf you did not give us this address, just ignore this e-mail.",
        },
    },
}

EMAIL_HTML = """<!doctype html>
<html lang="{{ language }}"><head><meta charset="utf-8"><title>{{ subject }}</title></head>
<body style="font-family:system-ui,sans-serif;background:#f6f6f6;margin:0;padding:24px">
<div style="max-width:560px;margin:auto;background:#fff;border-radius:12px;padding:24px;color:#1a1a1a">
<h1 style="font-size:20px;margin:0 0 16px">{{ subject }}</h1>
{% for p in paragraphs %}<p style="font-size:16px;line-height:1.5">{{ p }}</p>{% endfor %}
<p><a href="{{ card_url }}" style="color:#7a1030">{{ card_url }}</a></p>
{% if unsubscribe_url %}<p style="font-size:12px;color:#555"><a href="{{ unsubscribe_url }}" style="color:#555">
{{ unsubscribe_label }}</a></p>{% endif %}
</div></body></html>
"""
