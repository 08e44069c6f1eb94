"""The Jinja sandbox annotations render in, with a budget of work and size per render.

Jinja's sandbox refuses unsafe attributes but not expensive ones: two nested loops over
`range(100000)`, `'x' * 3000000000` or a list doubled twenty times freeze the daemon. Here
every loop iteration, call, operator and filter spends from one budget, sizes are checked
before anything large is built, and what a template builds or prints has a size limit.
The limits count steps, not seconds, so a render is refused the same way every time.
"""

from __future__ import annotations

import contextvars
import re
import string
from collections.abc import Callable, Iterable, Iterator, Mapping
from typing import Any

from jinja2 import StrictUndefined, Template, nodes
from jinja2.runtime import Context
from jinja2.sandbox import ImmutableSandboxedEnvironment
from jinja2.utils import Cycler, Joiner, Namespace

from alertd.rules.units import humanize, humanize_duration, humanize_percentage

# Work units a render may spend: a loop iteration, a call, an operator, a filter, or one
# element visited while measuring a value. Real annotations spend a few dozen.
MAX_WORK = 200_000
# Characters a render may print, and the size (characters plus elements) of any value built.
MAX_SIZE = 16_384
# Field widths and precisions in format strings and width arguments of filters.
MAX_WIDTH = 1_000
MAX_INT_BITS = 4_096

# Methods of strings and numbers a template may call; the rest can build huge values
# (`center`, `zfill`, `expandtabs`, `translate`, `to_bytes`) and no annotation needs them.
_STR_METHODS = frozenset(
    (  # noqa: SIM905 - one line of names reads better than thirty-five
        "capitalize casefold count endswith find format index isalnum isalpha isdecimal isdigit "
        "islower isnumeric isspace istitle isupper join lower lstrip partition removeprefix "
        "removesuffix replace rfind rindex rpartition rsplit rstrip split splitlines startswith "
        "strip swapcase title upper"
    ).split()
)
_NUMBER_ATTRIBUTES = frozenset({"real", "imag", "is_integer", "conjugate"})
# Filters whose integer arguments set a width or a count of things to build.
_SIZED_FILTERS = frozenset({"center", "indent", "batch", "slice", "wordwrap", "filesizeformat"})
_LEFT_OUT_FILTERS = frozenset({"random"})  # nothing random on a page
_PERCENT_SPEC = re.compile(r"%(?:\([^)]*\))?[#0\- +]*(\*|\d+)?(?:\.(\*|\d+))?")

# Prometheus' names for showing a value: `{{ value | humanize_percentage }}` -> `11.8%`.
HUMANIZE_FILTERS: Mapping[str, Callable[[float], str]] = {
    "humanize": humanize,
    "humanize_percentage": humanize_percentage,
    "humanize_duration": humanize_duration,
}

LOOP_FILTER = "alertd:loop"
CONCAT_FILTER = "alertd:concat"


class OverBudget(Exception):
    """A template tried to do more than a render may: its source is shown instead."""


class _Budget:
    def __init__(self) -> None:
        self.work = MAX_WORK

    def spend(self, units: int) -> None:
        self.work -= units
        if self.work < 0:
            raise OverBudget(f"more than {MAX_WORK} steps")


_current: contextvars.ContextVar[_Budget | None] = contextvars.ContextVar(
    "template_budget", default=None
)


def _budget() -> _Budget:
    # Outside a render (Jinja folding constants while compiling) each check gets its own.
    return _current.get() or _Budget()


def render_within_budget(template: Template, context: Mapping[str, Any]) -> str:
    """Render `template`, raising OverBudget when it spends or prints more than allowed."""
    token = _current.set(_Budget())
    try:
        out: list[str] = []
        printed = 0
        for chunk in template.generate(**context):
            printed += len(chunk)
            if printed > MAX_SIZE:
                raise OverBudget(f"prints more than {MAX_SIZE} characters")
            out.append(chunk)
        return "".join(out)
    finally:
        _current.reset(token)


def measure(value: Any) -> Any:
    """Refuse `value` if it is too large, spending one unit per element looked at."""
    budget = _budget()
    size = 0
    pending = [value]
    while pending:
        item = pending.pop()
        budget.spend(1)
        size += 1
        if isinstance(item, str | bytes):
            size += len(item)
        elif isinstance(item, int) and item.bit_length() > MAX_INT_BITS:
            raise OverBudget(f"a number larger than {MAX_INT_BITS} bits")
        elif isinstance(item, range):
            size += len(item)
        elif isinstance(item, Mapping):
            pending.extend(item.keys())
            pending.extend(item.values())
        elif isinstance(item, list | tuple | set | frozenset):
            pending.extend(item)
        if size > MAX_SIZE:
            raise OverBudget(f"a value larger than {MAX_SIZE}")
    return value


def _check_percent_format(text: str) -> None:
    for match in _PERCENT_SPEC.finditer(text):
        for part in match.groups():
            if part == "*" or (part is not None and int(part) > MAX_WIDTH):
                raise OverBudget(f"a format width above {MAX_WIDTH}")


def _check_brace_format(text: str) -> None:
    try:
        fields = list(string.Formatter().parse(text))
    except ValueError:
        return  # str.format raises the same error when called
    for _, _, spec, _ in fields:
        if spec and ("{" in spec or any(int(n) > MAX_WIDTH for n in re.findall(r"\d+", spec))):
            raise OverBudget(f"a format width above {MAX_WIDTH}, or a width from an argument")


def _check_binop(operator: str, left: Any, right: Any) -> None:
    if operator == "*":
        for seq, count in ((left, right), (right, left)):
            sized = isinstance(seq, str | list | tuple) and isinstance(count, int)
            if sized and len(seq) * count > MAX_SIZE:
                raise OverBudget(f"a value larger than {MAX_SIZE}")
    elif operator == "**" and isinstance(left, int) and isinstance(right, int):
        if abs(left) > 1 and right > 0 and left.bit_length() * right > MAX_INT_BITS:
            raise OverBudget(f"a number larger than {MAX_INT_BITS} bits")
    elif operator == "%" and isinstance(left, str):
        _check_percent_format(left)


def _replaced_size(text: Any, old: Any, new: Any, count: Any = -1) -> None:
    if isinstance(text, str) and isinstance(old, str) and isinstance(new, str):
        hits = len(text) + 1 if not old else text.count(old)
        if isinstance(count, int) and count >= 0:
            hits = min(hits, count)
        if len(text) + hits * (len(new) - len(old)) > MAX_SIZE:
            raise OverBudget(f"a value larger than {MAX_SIZE}")


def _joined_size(items: Any) -> None:
    measure(items)
    if isinstance(items, Iterable) and not isinstance(items, str | Mapping):
        total = sum(len(i) if isinstance(i, str) else 8 for i in items)
        if total > MAX_SIZE:
            raise OverBudget(f"a value larger than {MAX_SIZE}")


def _budgeted_filter(name: str, func: Callable[..., Any]) -> Callable[..., Any]:
    """`func` behind the budget: arguments measured first, the result after."""
    # Jinja passes the context, eval context or environment first to filters marked for it.
    pass_arg = getattr(func, "jinja_pass_arg", None)

    def check_arguments(args: tuple[Any, ...], kwargs: dict[str, Any]) -> None:
        _budget().spend(1)
        values = list(args[1:] if pass_arg is not None else args)
        for value in [*values, *kwargs.values()]:
            measure(value)
        numbers = [v for v in [*values[1:], *kwargs.values()] if isinstance(v, int)]
        if name in _SIZED_FILTERS and any(abs(n) > MAX_WIDTH for n in numbers):
            raise OverBudget(f"{name}: a width or count above {MAX_WIDTH}")
        if name == "format" and values and isinstance(values[0], str):
            _check_percent_format(values[0])
        if name == "replace" and len(values) >= 3:
            _replaced_size(*values[:4])
        if name == "join" and values:
            _joined_size(values[0])

    def filtered(*args: Any, **kwargs: Any) -> Any:
        check_arguments(args, kwargs)
        return measure(func(*args, **kwargs))

    filtered.jinja_pass_arg = pass_arg  # type: ignore[attr-defined]
    return filtered


def _loop(iterable: Any) -> Iterator[Any]:
    """What a `{% for %}` runs over: every iteration spends one unit."""
    budget = _budget()
    for item in iterable:
        budget.spend(1)
        yield item


def _concat(parts: list[Any]) -> str:
    """The `~` operator: parts are measured before they are joined."""
    texts = [str(measure(p)) for p in parts]
    _joined_size(texts)
    return "".join(texts)


def _range(*args: int) -> range:
    numbers = range(*args)
    if len(numbers) > MAX_SIZE:
        raise OverBudget(f"range of more than {MAX_SIZE} numbers")
    return numbers


class BudgetedEnvironment(ImmutableSandboxedEnvironment):
    """An immutable sandbox whose every costly step spends from the render's budget."""

    intercepted_binops = frozenset({"*", "**", "%", "+", "//", "/", "-"})

    def __init__(self) -> None:
        super().__init__(undefined=StrictUndefined, autoescape=False, finalize=measure)
        self.globals = {
            "range": _range,
            "dict": dict,
            "namespace": Namespace,
            "cycler": Cycler,
            "joiner": Joiner,
        }
        filters = {n: f for n, f in self.filters.items() if n not in _LEFT_OUT_FILTERS}
        self.filters = {n: _budgeted_filter(n, f) for n, f in filters.items()}
        self.filters.update(
            {name: _budgeted_filter(name, func) for name, func in HUMANIZE_FILTERS.items()}
        )
        self.filters[LOOP_FILTER] = _loop
        self.filters[CONCAT_FILTER] = _concat

    def is_safe_attribute(self, obj: Any, attr: str, value: Any) -> bool:
        if isinstance(obj, str) and attr not in _STR_METHODS:
            return False
        if isinstance(obj, int | float) and attr not in _NUMBER_ATTRIBUTES:
            return False
        return bool(super().is_safe_attribute(obj, attr, value))

    def wrap_str_format(self, value: Any) -> Callable[..., str] | None:
        owner = getattr(value, "__self__", None)
        if isinstance(owner, str):
            _check_brace_format(owner)
        return super().wrap_str_format(value)

    def call_binop(self, context: Context, operator: str, left: Any, right: Any) -> Any:
        _budget().spend(1)
        _check_binop(operator, left, right)
        return measure(super().call_binop(context, operator, left, right))

    def call(__self, __context: Context, __obj: Any, *args: Any, **kwargs: Any) -> Any:
        _budget().spend(1)
        name = getattr(__obj, "__name__", "")
        if name == "replace" and isinstance(getattr(__obj, "__self__", None), str):
            _replaced_size(__obj.__self__, *args[:3])
        if name == "join" and isinstance(getattr(__obj, "__self__", None), str) and args:
            _joined_size(args[0])
        return measure(super().call(__context, __obj, *args, **kwargs))

    def compile_budgeted(self, source: str) -> Template:
        """Compile `source` with its loops and `~` joins routed through the budget."""
        tree = self.parse(source)
        for loop in list(tree.find_all(nodes.For)):
            loop.iter = self._through(LOOP_FILTER, loop.iter, loop.lineno)
        for concat in list(tree.find_all(nodes.Concat)):
            parts = nodes.List(concat.nodes, lineno=concat.lineno)
            concat.nodes = [self._through(CONCAT_FILTER, parts, concat.lineno)]
        return self.template_class.from_code(self, self.compile(tree), self.make_globals(None))

    def _through(self, name: str, node: nodes.Node, lineno: int) -> nodes.Filter:
        wrapped = nodes.Filter(node, name, [], [], None, None, lineno=lineno)
        wrapped.set_environment(self)
        return wrapped
