"""The transactional set in ru (default) and en, kept in the message catalogue (shared/locales).

SMS texts stay short: Cyrillic SMS is 70 characters."""

from __future__ import annotations

from shared import i18n

CONTEXT = "messages"  # msgctxt in shared/locales/*/LC_MESSAGES/messages.po; msgid = "<kind>.<field>"
FIELDS = ("sms", "subject", "text")


def kinds() -> tuple[str, ...]:
    """Every transactional message kind the catalogue has."""
    return tuple(dict.fromkeys(key.split(".", 1)[0] for key in i18n.keys(CONTEXT)))


def texts(kind: str, language: str) -> dict[str, str]:
    """The sms, subject and text templates of one kind in a language (ru when unknown)."""
    return {
        field: i18n.text(language, CONTEXT, f"{kind}.{field}")
        for field in FIELDS
        if f"{kind}.{field}" in i18n.keys(CONTEXT)
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
