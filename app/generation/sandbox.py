"""The Jinja2 sandbox for admin-edited prompt templates, with resource limits.

Jinja2's sandbox keeps a template away from Python's internals, but not from the machine's time
and memory: `{{ 'x' * 10**10 }}` asks for ten gigabytes and nested loops over `range(100000)` run
for ever, on the server, from a template an admin can save or preview. `BoundedSandbox` refuses
with a `TemplateLimitError` (a `SecurityError`, so a save or preview shows it as the reason):

- every string or list a template builds is at most `MAX_SIZE` long, checked *before* the
  operators and methods that multiply sizes (`*`, `**`, `%`, `format`, `replace`, `join`,
  `indent`, `expandtabs`, widths) and after the others (`+`, `~`, filters, calls);
- a render takes at most `MAX_STEPS` loop iterations and calls, at most `MAX_SECONDS` of time,
  builds at most `MAX_BUILT` characters in all, and writes at most `MAX_OUTPUT` characters.

Every render must go through `render_bounded`, which starts the budget the limits count against.
"""

from __future__ import annotations

import functools
import re
import time
from collections.abc import Callable, Iterable, Iterator
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any

import jinja2
from jinja2 import nodes
from jinja2.nodes import EvalContext
from jinja2.runtime import Context
from jinja2.sandbox import ImmutableSandboxedEnvironment, SecurityError
from jinja2.visitor import NodeTransformer

MAX_SIZE = 1_000_000  # characters of one string, items of one list (far above any prompt)
MAX_OUTPUT = 1_000_000  # characters one render writes
MAX_BUILT = 50_000_000  # characters all the strings of one render may add up to
MAX_STEPS = 1_000_000  # loop iterations and calls of one render
MAX_SECONDS = 2.0  # one render
_NUMBER = re.compile(r"\d+")


class TemplateLimitError(SecurityError):
    """A template asked for more time or memory than a prompt may take."""


@dataclass
class _Budget:
    deadline: float = field(default_factory=lambda: time.monotonic() + MAX_SECONDS)
    steps: int = 0
    built: int = 0

    def step(self) -> None:
        self.steps += 1
        if self.steps > MAX_STEPS:
            raise TemplateLimitError(f"the template loops or calls more than {MAX_STEPS} times")
        if self.steps % 64 == 0 and time.monotonic() > self.deadline:
            raise TemplateLimitError(f"the template took more than {MAX_SECONDS:g} s to render")

    def build(self, size: int) -> None:
        self.built += size
        if self.built > MAX_BUILT:
            raise TemplateLimitError(f"the template builds more than {MAX_BUILT} characters")


_BUDGET: ContextVar[_Budget | None] = ContextVar("prompt_budget", default=None)


def _budget() -> _Budget:
    """The budget of the render under way (outside one, as when Jinja2 folds constants while
    compiling, a throwaway budget: the sizes are still checked)."""
    return _BUDGET.get() or _Budget()


def _size(value: Any) -> int:
    if isinstance(value, str | bytes | list | tuple | dict | set | frozenset):
        return len(value)
    if isinstance(value, int) and not isinstance(value, bool):
        return value.bit_length() // 3  # about its decimal digits
    return 0


def _refuse_size(size: int, what: str = "a value") -> None:
    if size > MAX_SIZE:
        raise TemplateLimitError(
            f"the template would make {what} of {size} characters or items; at most {MAX_SIZE}"
        )


def _checked(value: Any) -> Any:
    """`value` when it is small enough (and counted in the budget), else TemplateLimitError."""
    size = _size(value)
    _refuse_size(size)
    if isinstance(value, str):
        _budget().build(size)
    return value


def _check_numbers(args: Iterable[Any]) -> None:
    """No width, count or repeat beyond MAX_SIZE (`center(10**10)`, `range`, `ljust`...)."""
    for arg in args:
        if isinstance(arg, int | float) and not isinstance(arg, bool) and abs(arg) > MAX_SIZE:
            raise TemplateLimitError(f"the number {arg} is too large here; at most {MAX_SIZE}")


def _format_size(pattern: str, args: Any) -> int:
    """An upper bound of what a format (`%` or `str.format`) makes: the pattern, every number in
    it taken as a width, and every argument (a number one also as a width: `{:{}}`)."""
    widths = sum(int(n) if len(n) <= 12 else MAX_SIZE + 1 for n in _NUMBER.findall(pattern))
    values = list(args.values()) if isinstance(args, dict) else list(args)
    made = 0
    for value in values:
        if isinstance(value, int) and not isinstance(value, bool):
            made += min(abs(value), MAX_SIZE + 1) + _size(value) + 1
        else:
            made += _size(value) if _size(value) > MAX_SIZE else len(str(value))
    return len(pattern) + widths + made


def _sized_items(value: Any) -> Any:
    """An iterator as a list (to measure it before joining it); other values as they are."""
    return value if isinstance(value, str | list | tuple | dict | set | frozenset) else list(value)


def _estimate(name: str, target: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> int:
    """An upper bound of what the str method or filter `name` makes from `target`; 0 when it
    does not multiply sizes."""
    if not isinstance(target, str):
        if name == "join" and isinstance(target, list | tuple | dict | set | frozenset):
            items = [str(x) for x in target]  # the `join` filter (its iterable made a list first)
            separator = str(args[0]) if args else str(kwargs.get("d", ""))
            return sum(map(len, items)) + len(separator) * max(0, len(items) - 1)
        return 0
    if name == "replace" and len(args) >= 2:
        old, new = str(args[0]), str(args[1])
        hits = target.count(old) if old else len(target) + 1
        return len(target) + hits * max(0, len(new) - len(old))
    if name == "join" and args and isinstance(args[0], list | tuple | dict | set | frozenset):
        items = [str(x) for x in args[0]]  # str.join: target is the separator
        return sum(map(len, items)) + len(target) * max(0, len(items) - 1)
    if name == "expandtabs":
        width = args[0] if args else kwargs.get("tabsize", 8)
        return len(target) + target.count("\t") * int(width)
    if name == "indent":
        width = args[0] if args else kwargs.get("width", 4)
        extra = len(width) if isinstance(width, str) else int(width)
        return len(target) + (target.count("\n") + 1) * extra
    if name in ("format", "format_map"):  # str.format, or the `format` filter (a % format)
        given: Any = args[0] if name == "format_map" and args else (kwargs or args)
        return _format_size(target, given)
    return 0


def _counted(items: Any) -> Iterator[Any]:
    """What every `{% for %}` loops over: one step per item."""
    budget = _budget()
    for item in items:
        budget.step()
        yield item


def _sized(value: Any) -> Any:
    """What every `~` concatenation makes, checked."""
    return _checked(value)


class _Guards(NodeTransformer):
    """Puts `_counted` around every loop's iterable and `_sized` around every `~`."""

    def visit_For(self, node: nodes.For) -> nodes.Node:
        self.generic_visit(node)  # in place
        node.iter = nodes.Filter(node.iter, "_counted", [], [], None, None, lineno=node.lineno)
        return node

    def visit_Concat(self, node: nodes.Concat) -> nodes.Node:
        self.generic_visit(node)
        return nodes.Filter(node, "_sized", [], [], None, None, lineno=node.lineno)


def _guarded_filter(name: str, function: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(function)  # keeps the pass_context/pass_environment marks
    def guarded(*args: Any, **kwargs: Any) -> Any:
        _budget().step()
        passed = sum(isinstance(a, Context | jinja2.Environment | EvalContext) for a in args[:1])
        if len(args) > passed:
            value, rest = args[passed], args[passed + 1 :]
            if name == "join":
                value = _sized_items(value)
                args = (*args[:passed], value, *rest)
            _check_numbers([*rest, *kwargs.values()])
            _refuse_size(_estimate(name, value, tuple(rest), kwargs))
        return _checked(function(*args, **kwargs))

    return guarded


class BoundedSandbox(ImmutableSandboxedEnvironment):
    """An immutable sandbox whose templates cannot take unbounded time or memory."""

    intercepted_binops = frozenset({"*", "**", "%", "+"})

    def __init__(self, **options: Any) -> None:
        super().__init__(**options)
        self.globals.pop("lipsum", None)  # generates text by the megabyte; prompts need none
        self.filters = {name: _guarded_filter(name, f) for name, f in self.filters.items()}
        self.filters["_counted"] = jinja2.pass_context(lambda _context, items: _counted(items))
        self.filters["_sized"] = jinja2.pass_context(lambda _context, value: _sized(value))

    def add_filter(self, name: str, function: Callable[..., Any]) -> None:
        self.filters[name] = _guarded_filter(name, function)

    def _parse(self, source: str, name: str | None, filename: str | None) -> nodes.Template:
        tree = super()._parse(source, name, filename)
        guarded: nodes.Template = _Guards().visit(tree)
        return guarded

    def call_binop(self, context: Context, operator: str, left: Any, right: Any) -> Any:
        _budget().step()
        if operator == "*":
            count, item = (right, left) if isinstance(right, int) else (left, right)
            if isinstance(count, int) and _size(item) and not isinstance(item, int):
                _refuse_size(max(0, count) * _size(item), "a repeated value")
            elif isinstance(left, int) and isinstance(right, int):
                _refuse_size(_size(left) + _size(right), "a number")
        elif operator == "**" and isinstance(left, int) and isinstance(right, int | float):
            if abs(left) > 1 and right > 0:
                _refuse_size(int(left.bit_length() * right) // 3, "a number")
        elif operator == "%" and isinstance(left, str):
            _refuse_size(_format_size(left, right if isinstance(right, tuple | dict) else (right,)))
        return _checked(super().call_binop(context, operator, left, right))

    def call(
        __self,
        __context: Context,
        __obj: Any,
        *args: Any,
        **kwargs: Any,
    ) -> Any:
        _budget().step()
        _check_numbers([*args, *kwargs.values()])
        owner, name = getattr(__obj, "__self__", None), getattr(__obj, "__name__", "")
        if isinstance(owner, str):
            if name == "join" and args:
                args = (_sized_items(args[0]), *args[1:])
            _refuse_size(_estimate(name, owner, args, kwargs))
        return _checked(super().call(__context, __obj, *args, **kwargs))


def render_bounded(template: jinja2.Template, **context: Any) -> str:
    """`template.render(**context)` within the limits (time, steps, sizes, output)."""
    token = _BUDGET.set(_Budget())
    try:
        parts, written = [], 0
        for part in template.generate(**context):
            written += len(part)
            if written > MAX_OUTPUT:
                raise TemplateLimitError(f"the template writes more than {MAX_OUTPUT} characters")
            parts.append(part)
        return "".join(parts)
    finally:
        _BUDGET.reset(token)
