"""Texts that staff write (campaign and chain messages). Each is checked against an allow-list of
the member's fields, our filters and the `if` tag when it is saved and again before every render,
then rendered in jinja2's immutable sandbox with no globals and its output capped: a text that
reaches for anything else is refused, never run."""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from jinja2 import StrictUndefined, TemplateError, TemplateSyntaxError, nodes, pass_context
from jinja2.exceptions import SecurityError
from jinja2.filters import FILTERS
from jinja2.runtime import Context
from jinja2.sandbox import ImmutableSandboxedEnvironment
from jinja2.tests import TESTS

from shared.i18n import points_text

FIELDS = ("name", "card", "balance", "pending", "tier", "percent", "program", "card_url", "offer")
FILTER_NAMES = ("points", "upper", "lower", "capitalize", "title", "trim", "default", "round", "abs", "int")
TEST_NAMES = (
    "defined",
    "undefined",
    "none",
    "number",
    "string",
    "odd",
    "even",
    "divisibleby",
    "eq",
    "ne",
    "lt",
    "le",
    "gt",
    "ge",
)
MAX_SOURCE = 10_000  # characters a marketer may type into one text or subject
MAX_OUTPUT = 20_000  # characters one rendered text may come out as

# what each refused node is called in the message, as the marketer typed it
_TAGS: dict[type[nodes.Node], str] = {
    nodes.For: "for",
    nodes.Assign: "set",
    nodes.AssignBlock: "set",
    nodes.Include: "include",
    nodes.Import: "import",
    nodes.FromImport: "from … import",
    nodes.Extends: "extends",
    nodes.Macro: "macro",
    nodes.CallBlock: "call",
    nodes.Block: "block",
    nodes.FilterBlock: "filter",
    nodes.With: "with",
    nodes.Scope: "with",
    nodes.ScopedEvalContextModifier: "autoescape",
    nodes.EvalContextModifier: "autoescape",
    nodes.ExprStmt: "do",
    nodes.Continue: "continue",
    nodes.Break: "break",
}
# everything else a plain text with fields, filters and {% if %} is made of
_PLAIN = (
    nodes.Template,
    nodes.Output,
    nodes.TemplateData,
    nodes.Const,
    nodes.If,
    nodes.CondExpr,
    nodes.And,
    nodes.Or,
    nodes.Not,
    nodes.Neg,
    nodes.Pos,
    nodes.Compare,
    nodes.Operand,
    nodes.Concat,
    nodes.Add,
    nodes.Sub,
    nodes.Mul,
    nodes.Div,
    nodes.FloorDiv,
    nodes.Mod,
    nodes.Tuple,
    nodes.List,
    nodes.Keyword,
)

_MESSAGES = {
    "en": {
        "too_long": "is longer than {limit} characters",
        "output_too_long": "would come out longer than {limit} characters",
        "syntax": "line {line}: the {{{{ … }}}} or {{% … %}} marks are not written correctly",
        "unknown_field": "{{{{ {name} }}}} is not a member field; the fields are {fields}",
        "inside": "only whole fields can be used, like {{{{ name }}}}; “{expr}” reaches inside one",
        "call": "calling functions is not allowed; use the fields and filters",
        "unknown_filter": "the filter |{name} is not available; the filters are {filters}",
        "unknown_test": "“is {name}” is not available; use {tests}",
        "tag": "{{% {name} %}} is not allowed; only {{% if %}} … {{% else %}} … {{% endif %}} and the fields",
        "power": "the ** operator is not allowed",
        "expression": "a {name} is not allowed here; only the fields, constants, filters and {{% if %}}",
        "fails": "cannot be filled in: {reason}",
    },
    "ru": {
        "too_long": "длиннее {limit} символов",
        "output_too_long": "после подстановки будет длиннее {limit} символов",
        "syntax": "строка {line}: метки {{{{ … }}}} или {{% … %}} записаны неверно",
        "unknown_field": "{{{{ {name} }}}} — не поле участника; поля: {fields}",
        "inside": "поля подставляются только целиком, например {{{{ name }}}}; «{expr}» лезет внутрь поля",
        "call": "вызывать функции нельзя; используйте поля и фильтры",
        "unknown_filter": "фильтра |{name} нет; фильтры: {filters}",
        "unknown_test": "проверки «is {name}» нет; можно: {tests}",
        "tag": "{{% {name} %}} использовать нельзя; можно только {{% if %}} … {{% else %}} … {{% endif %}} и поля",
        "power": "оператор ** использовать нельзя",
        "expression": "{name} здесь использовать нельзя; можно только поля, константы, фильтры и {{% if %}}",
        "fails": "не заполняется: {reason}",
    },
}


@dataclass(frozen=True)
class Refusal:
    """Why a text is refused: a message code and its values, said in either language."""

    code: str
    values: tuple[tuple[str, Any], ...] = ()

    def text(self, language: str = "en") -> str:
        catalogue = _MESSAGES.get(language, _MESSAGES["en"])
        return catalogue[self.code].format(
            fields=", ".join(FIELDS), filters=", ".join(FILTER_NAMES), tests=", ".join(TEST_NAMES), **dict(self.values)
        )


class TextRefused(TemplateError):
    """A staff text that may not run (at saving, preview or sending)."""

    def __init__(self, refusal: Refusal) -> None:
        super().__init__(refusal.text("en"))
        self.refusal = refusal


def refuse(code: str, **values: Any) -> TextRefused:
    return TextRefused(Refusal(code, tuple(sorted(values.items()))))


@pass_context
def _points(context: Context, n: int) -> str:
    """`{{ balance|points }}`: "21 балл", "22 балла", "1 point" in the message's language."""
    return points_text(int(n), str(context.get("language") or "ru"))


def _number(value: Any) -> bool:
    return isinstance(value, int | float)


class StaffSandbox(ImmutableSandboxedEnvironment):
    """No globals, only our filters and tests, and arithmetic only between numbers (so neither
    `"x" * 10**9` nor `"%999999999s" % 1` can make a huge string)."""

    intercepted_binops = frozenset({"*", "%", "**"})

    def call_binop(self, context: Context, operator: str, left: Any, right: Any) -> Any:
        if operator == "**" or not (_number(left) and _number(right)):
            raise SecurityError(f"{operator} works on numbers only")
        return super().call_binop(context, operator, left, right)


def _environment(**options: Any) -> StaffSandbox:
    env = StaffSandbox(undefined=StrictUndefined, **options)
    env.globals.clear()
    env.filters = {name: FILTERS[name] for name in FILTER_NAMES if name in FILTERS}
    env.filters["points"] = _points
    env.tests = {name: TESTS[name] for name in TEST_NAMES}
    return env


# plain text for SMS, Telegram, push (the e-mail HTML around it is ours and escapes what it is given)
sandbox = _environment(autoescape=False, trim_blocks=True, lstrip_blocks=True)


def _expression(node: nodes.Node) -> str:
    if isinstance(node, nodes.Name):
        return node.name
    if isinstance(node, nodes.Getattr):
        return f"{_expression(node.node)}.{node.attr}"
    if isinstance(node, nodes.Getitem):
        return f"{_expression(node.node)}[…]"
    return "…"


def _walk(node: nodes.Node) -> None:
    """Tags before what they hold; expressions after what they hold, so the innermost unknown
    name is what the marketer hears about."""
    if type(node) in _TAGS:
        raise refuse("tag", name=_TAGS[type(node)])
    if not isinstance(node, nodes.Stmt | nodes.Template):
        for child in node.iter_child_nodes():
            _walk(child)
    if isinstance(node, nodes.Name):
        if node.ctx != "load" or node.name not in FIELDS:
            raise refuse("unknown_field", name=node.name)
        return
    if isinstance(node, nodes.Getattr | nodes.Getitem | nodes.Slice):
        raise refuse("inside", expr=_expression(node)[:60])
    if isinstance(node, nodes.Call):
        raise refuse("call")
    if isinstance(node, nodes.Pow):
        raise refuse("power")
    if isinstance(node, nodes.Filter | nodes.Test):
        if node.dyn_args is not None or node.dyn_kwargs is not None:
            raise refuse("call")
        allowed = FILTER_NAMES if isinstance(node, nodes.Filter) else TEST_NAMES
        if node.name not in allowed:
            raise refuse("unknown_filter" if isinstance(node, nodes.Filter) else "unknown_test", name=node.name[:40])
    elif not isinstance(node, _PLAIN):
        name = "dict" if isinstance(node, nodes.Pair | nodes.Dict) else type(node).__name__.lower()
        raise refuse("tag" if isinstance(node, nodes.Stmt) else "expression", name=name)
    if isinstance(node, nodes.Stmt | nodes.Template):
        for child in node.iter_child_nodes():
            _walk(child)


def refusal_of(source: str) -> Refusal | None:
    """Why this text may not be used (None: it may): too long, not jinja2, or reaching beyond the
    member's fields, our filters and {% if %}."""
    if len(source) > MAX_SOURCE:  # before the cache, which keeps only texts of a bounded size
        return Refusal("too_long", (("limit", MAX_SOURCE),))
    return _refusal_of(source)


@lru_cache(maxsize=1024)
def _refusal_of(source: str) -> Refusal | None:
    try:
        _walk(sandbox.parse(source))
    except TemplateSyntaxError as exc:
        return Refusal("syntax", (("line", exc.lineno),))
    except TextRefused as exc:
        return exc.refusal
    except (RecursionError, ValueError, OverflowError):  # thousands of nested brackets, a 5,000-digit number
        return Refusal("syntax", (("line", 1),))
    return None


def check_text(source: str) -> None:
    """Raise TextRefused when the text may not be used."""
    refusal = refusal_of(source)
    if refusal is not None:
        raise TextRefused(refusal)


def capped(chunks: Any) -> str:
    """Join a render's output, refusing it once it passes MAX_OUTPUT characters."""
    out, size = [], 0
    for chunk in chunks:
        size += len(chunk)
        if size > MAX_OUTPUT:
            raise refuse("output_too_long", limit=MAX_OUTPUT)
        out.append(chunk)
    return "".join(out)
