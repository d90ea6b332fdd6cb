"""Texts staff write: the allow-list (member fields, our filters, {% if %}) decides at saving, the
sandbox and the output cap stand behind it at rendering, and a refusal is said in ru and en."""

from __future__ import annotations

from typing import Any

import pytest

from notifications.campaigns.texts import SAMPLE
from notifications.templates import MAX_OUTPUT, TextRefused, refusal_of, render_custom, render_staff_text
from notifications.templates.staff_texts import MAX_SOURCE, sandbox

ESCAPES = [
    "{{ cycler.__init__.__globals__.os.getuid() }}",
    "{{ joiner.__init__.__globals__ }}",
    "{{ namespace.__init__.__globals__ }}",
    "{{ lipsum.__globals__['os'].popen('id').read() }}",
    "{{ range.__self__ }}",
    "{{ dict(a=1) }}",
    "{{ self.__init__.__globals__ }}",
    "{{ config }}",
    "{{ request }}",
    "{{ templates }}",
    "{{ language }}",
    "{{ unsubscribe_url }}",
    "{{ name.__class__.__mro__[1].__subclasses__() }}",
    "{{ name['__class__'] }}",
    "{{ name[0:1] }}",
    "{{ name.upper() }}",
    "{{ ''.__class__ }}",
    "{{ (1).__class__ }}",
    '{{ name|attr("__class__") }}',
    "{{ name|map('upper')|list }}",
    "{{ name|format('x') }}",
    "{{ card|center(999999999) }}",
    "{{ name|e }}",
    "{{ name|safe }}",
    "{{ name|default(*args) }}",
    "{% if name is callable %}x{% endif %}",
    "{% if name is sameas name %}x{% endif %}",
    "{% for i in range(10) %}x{% endfor %}",
    "{% set x = 1 %}{{ x }}",
    "{% set x %}a{% endset %}",
    '{% include "console/base.html.j2" %}',
    '{% import "x" as y %}',
    '{% from "x" import y %}',
    '{% extends "x" %}',
    "{% macro m() %}x{% endmacro %}",
    "{% call name() %}x{% endcall %}",
    "{% filter upper %}x{% endfilter %}",
    "{% with a = 1 %}{{ a }}{% endwith %}",
    "{% block b %}x{% endblock %}",
    "{% autoescape false %}x{% endautoescape %}",
    "{{ 9 ** 9 ** 9 }}",
    "{{ {'a': name} }}",
    "{{ name ",
    "{% if name %}",
    "{% endif %}",
    "{{ " + "(" * 5000 + "1" + ")" * 5000 + " }}",
    "x" * (MAX_SOURCE + 1),
    "{{ 9" + "9" * 5000 + " }}",
]

ALLOWED = {
    "{{ name }}, у вас {{ balance }}": "Anna, у вас 1234",
    "{{ balance|points }}": "1234 балла",
    "{% if name %}{{ name|upper }}{% else %}Здравствуйте{% endif %}!": "ANNA!",
    "{% if balance > 1000 and tier == 'Gold' %}много{% elif pending %}ждут{% else %}мало{% endif %}": "много",
    "{{ name|default('друг') }} {{ percent }}% {{ card_url }}": "Anna 10% https://example.org/card",
    "{{ balance * 2 }} {{ balance // 100 }} {{ balance - pending }} {{ name ~ '!' }}": "2468 12 1234 Anna!",
    "{{ 'много' if balance is even else 'мало' }} {{ program|lower }}": "много program",
    "{% raw %}{{ name }}{% endraw %}": "{{ name }}",
}


@pytest.mark.parametrize("text", ESCAPES)
def test_anything_beyond_fields_filters_and_if_is_refused_before_it_runs(text: str) -> None:
    assert refusal_of(text) is not None, text
    with pytest.raises(TextRefused):
        render_staff_text(text, dict(SAMPLE))


@pytest.mark.parametrize(("text", "expected"), ALLOWED.items())
def test_the_fields_filters_and_if_render(text: str, expected: str) -> None:
    assert refusal_of(text) is None
    assert render_custom("sms", {"text": text}, dict(SAMPLE)).text == expected


HUGE = "9" * 3000  # a product of two such numbers has too many digits to print


@pytest.mark.parametrize(
    "text",
    [
        '{{ "x" * 999999999 }}',
        '{{ "%999999999s" % 1 }}',
        "{{ [1] * 999999999 }}",
        "{{ balance / 0 }}",
        "{{ name < 5 }}",
        f"{{{{ {HUGE} * {HUGE} }}}}",
    ],
)
def test_what_only_fails_at_rendering_fails_as_a_refusal_without_building_anything_huge(text: str) -> None:
    with pytest.raises(TextRefused) as refused:
        render_staff_text(text, dict(SAMPLE))
    assert refused.value.refusal.code == "fails"


def test_output_is_capped() -> None:
    text = "{{ name }}" * 900
    with pytest.raises(TextRefused) as refused:
        render_staff_text(text, {**SAMPLE, "name": "x" * 100})
    assert refused.value.refusal.code == "output_too_long"
    assert str(MAX_OUTPUT) in str(refused.value)
    assert len(render_staff_text(text, dict(SAMPLE))) == 3600


def test_the_sandbox_has_no_globals_and_only_our_filters() -> None:
    assert sandbox.globals == {}
    assert set(sandbox.filters) == {
        "points",
        "upper",
        "lower",
        "capitalize",
        "title",
        "trim",
        "default",
        "round",
        "abs",
        "int",
    }
    assert "callable" not in sandbox.tests
    assert "sameas" not in sandbox.tests


@pytest.mark.parametrize(
    ("text", "en", "ru"),
    [
        (
            "{{ cycler.__init__ }}",
            "{{ cycler }} is not a member field; the fields are name, card",
            "{{ cycler }} — не поле участника; поля: name, card",
        ),
        ("{% for x in y %}{% endfor %}", "{% for %} is not allowed", "{% for %} использовать нельзя"),
        ("{{ name|e }}", "the filter |e is not available; the filters are points", "фильтра |e нет; фильтры: points"),
        ("a\n{{ name", "line 2: the {{ … }} or {% … %} marks", "строка 2: метки {{ … }} или {% … %}"),
    ],
)
def test_a_refusal_is_said_so_a_marketer_understands_it_in_ru_and_en(text: str, en: str, ru: str) -> None:
    refusal: Any = refusal_of(text)
    assert en in refusal.text("en")
    assert ru in refusal.text("ru")
