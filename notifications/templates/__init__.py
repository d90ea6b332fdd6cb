"""Message templates by kind, language and channel (jinja2), with SMS cost known before sending.
The catalogue's texts are ours; texts that staff write go through notifications.templates.staff_texts."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from jinja2 import Environment, StrictUndefined, TemplateError, pass_context
from jinja2.runtime import Context

from notifications.sms_parts import count_parts
from notifications.templates.catalog import EMAIL_HTML, kinds
from notifications.templates.catalog import texts as catalog_texts
from notifications.templates.staff_texts import (
    FIELDS,
    FILTER_NAMES,
    MAX_OUTPUT,
    Refusal,
    TextRefused,
    capped,
    check_text,
    refusal_of,
    refuse,
    sandbox,
)
from shared.i18n import points_text


@pass_context
def _points(context: Context, n: int) -> str:
    """`{{ balance|points }}`: "21 балл", "22 балла", "1 point" in the message's language."""
    return points_text(int(n), str(context.get("language") or "ru"))


# our own catalogue, plain text for SMS, Telegram, push: no HTML to escape (the e-mail HTML goes through _html_env)
_env = Environment(autoescape=False, undefined=StrictUndefined, trim_blocks=True, lstrip_blocks=True)  # noqa: S701
_html_env = Environment(autoescape=True, undefined=StrictUndefined)
for _environment in (_env, _html_env):
    _environment.filters["points"] = _points
_compiled: dict[str, Any] = {}
_staff_compiled: dict[str, Any] = {}
_CACHE_LIMIT = 1024  # distinct staff texts kept compiled per process


@dataclass(frozen=True)
class Rendered:
    text: str
    subject: str | None = None
    html: str | None = None
    parts: int = 0


_FIELD = re.compile(r"\{\{ *([A-Za-z_][A-Za-z0-9_]*) *\}\}")
_JINJA_LITERALS = frozenset({"true", "false", "none", "True", "False", "None"})


class _Fields:
    """A text that only interpolates plain fields ("{{ name }}, ... {{ balance }}"), the usual
    marketer's template: rendered by joining strings, as jinja2 would render it (str() of each
    value, one trailing newline dropped). Anything else, or a name not in the context, goes to
    jinja2 itself."""

    def __init__(self, parts: list[str], names: list[str], jinja: Any) -> None:
        self.parts, self.names, self.jinja = parts, names, jinja

    def render(self, **context: Any) -> str:
        try:
            values = [str(context[name]) for name in self.names]
        except KeyError:
            return str(self.jinja.render(**context))
        return self.join(values)

    def generate(self, **context: Any) -> Any:
        try:
            values = [str(context[name]) for name in self.names]
        except KeyError:
            return self.jinja.generate(**context)
        return iter((self.join(values),))

    def join(self, values: list[str]) -> str:
        out = [self.parts[0]]
        for value, part in zip(values, self.parts[1:], strict=True):
            out += (value, part)
        return "".join(out)


def _fields_only(source: str, jinja: Any) -> _Fields | None:
    pieces = _FIELD.split(source[:-1] if source.endswith("\n") else source)
    parts, names = pieces[0::2], pieces[1::2]
    if (
        "\r" in source
        or any(name in _JINJA_LITERALS for name in names)
        or any(mark in part for part in parts for mark in ("{{", "{%", "{#"))
    ):
        return None
    return _Fields(parts, names, jinja)


def _template(source: str, html: bool = False) -> Any:
    """One of our catalogue's texts, compiled once."""
    key = ("h:" if html else "t:") + source
    if key not in _compiled:
        compiled = (_html_env if html else _env).from_string(source)
        _compiled[key] = compiled if html else _fields_only(source, compiled) or compiled
    return _compiled[key]


def render_staff_text(source: Any, context: dict[str, Any]) -> str:
    """A text staff wrote, checked (again: it may have been stored before the rules or around
    them), rendered in the sandbox and capped; any failure is a TextRefused, never anything else."""
    if not isinstance(source, str):
        raise refuse("fails", reason="not a text")
    check_text(source)
    compiled = _staff_compiled.get(source)
    if compiled is None:
        if len(_staff_compiled) >= _CACHE_LIMIT:
            _staff_compiled.clear()
        jinja = sandbox.from_string(source)
        compiled = _staff_compiled[source] = _fields_only(source, jinja) or jinja
    try:
        return capped(compiled.generate(**context))
    except TextRefused:
        raise
    except Exception as exc:  # whatever a stored text does, it fails as a refusal
        raise refuse("fails", reason=str(exc)[:200] or type(exc).__name__) from None


CUSTOM_KINDS = frozenset({"campaign", "chain"})


def render_custom(channel: str, texts: dict[str, str], context: dict[str, Any]) -> Rendered:
    """A marketer's text (the member's fields, our filters, {% if %}) for one channel: "text" and,
    for e-mail and push, "subject". Raises TextRefused when a text may not run."""
    body = render_staff_text(texts["text"], context).strip()
    if channel == "sms":
        return Rendered(text=body, parts=count_parts(body))
    subject = render_staff_text(texts["subject"], context).strip() if texts.get("subject") else None
    if channel == "email":
        html = _template(EMAIL_HTML, html=True).render(subject=subject or "", paragraphs=body.split("\n"), **context)
        return Rendered(text=body, subject=subject, html=html)
    return Rendered(text=body, subject=subject)


def has_template(kind: str) -> bool:
    return kind in kinds()


def render_message(kind: str, channel: str, language: str, context: dict[str, Any]) -> Rendered:
    """Render one message; SMS gets the short text and its part count, e-mail subject + HTML + text,
    push a title and body, Telegram and Viber the medium text. Campaign and chain messages carry
    the marketer's texts for each channel in context["templates"]."""
    if kind in CUSTOM_KINDS:
        return render_custom(channel, context["templates"][channel], context)
    texts = catalog_texts(kind, language)
    if channel == "sms":
        text = _template(texts["sms"]).render(**context).strip()
        return Rendered(text=text, parts=count_parts(text))
    subject = _template(texts["subject"]).render(**context).strip()
    body = _template(texts["text"]).render(**context).strip()
    if channel == "email":
        html = _template(EMAIL_HTML, html=True).render(subject=subject, paragraphs=body.split("\n"), **context)
        return Rendered(text=body, subject=subject, html=html)
    return Rendered(text=body, subject=subject)


__all__ = [
    "CUSTOM_KINDS",
    "FIELDS",
    "FILTER_NAMES",
    "MAX_OUTPUT",
    "Refusal",
    "Rendered",
    "TemplateError",
    "TextRefused",
    "check_text",
    "has_template",
    "refusal_of",
    "render_custom",
    "render_message",
    "render_staff_text",
]
