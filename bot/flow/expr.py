"""A small expression language with ODK's semantics, for relevance, constraints and calculations.

Flow files (and the XLSForms they may come from) carry conditions such as
`${age} >= 18 and selected(${themes}, 'wages')`. They are parsed here by our own parser into a
tree and evaluated by our own evaluator: never `eval`, so a form's author cannot run code.

Values follow XPath 1.0 as ODK Collect applies it: an unanswered question is the empty string,
a multiple-choice answer is its choice names separated by spaces, numbers are floats (`""` as a
number is NaN, and every comparison with NaN is false but `!=`), `=` compares as booleans when
either side is one, else as numbers when either side is one, else as strings; `<` and friends
compare numbers; dates (`YYYY-MM-DD`) count as days since 1970-01-01 where a number is needed.
Pure: no I/O, no clock (`today` is given by the caller).
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from datetime import date

Value = str | float | bool


class ExprError(ValueError):
    """An expression outside the supported subset; `part` is the piece not understood."""

    def __init__(self, problem: str, part: str) -> None:
        super().__init__(f"{problem}: {part!r}" if part else problem)
        self.problem, self.part = problem, part


# -- the tree --------------------------------------------------------------------------------
@dataclass(frozen=True)
class Literal:
    value: str | float


@dataclass(frozen=True)
class Ref:
    name: str  # another question's answer: ${name}


@dataclass(frozen=True)
class Column:
    """A bare name in a choice filter: that column of the choice being filtered."""

    name: str


@dataclass(frozen=True)
class Current:
    """`.`: the answer being checked (in a constraint)."""


@dataclass(frozen=True)
class Call:
    function: str
    args: tuple[Node, ...]


@dataclass(frozen=True)
class Binary:
    op: str
    left: Node
    right: Node


@dataclass(frozen=True)
class Negate:
    operand: Node


Node = Literal | Ref | Column | Current | Call | Binary | Negate


@dataclass(frozen=True)
class Expression:
    """A parsed expression and the text it came from (kept for writing the flow back out)."""

    source: str
    tree: Node

    @property
    def references(self) -> frozenset[str]:
        return frozenset(_refs(self.tree))

    def renamed(self, names: Mapping[str, str]) -> Expression:
        """The same expression with references renamed (a repeat's later instances)."""
        return Expression(_render(_rename(self.tree, names)), _rename(self.tree, names))


# name: minimum and maximum number of arguments
FUNCTIONS: Mapping[str, tuple[int, int]] = {
    "selected": (2, 2), "count-selected": (1, 1), "selected-at": (2, 2), "regex": (2, 2),
    "string-length": (0, 1), "concat": (0, 99), "if": (3, 3), "coalesce": (2, 2),
    "int": (1, 1), "number": (1, 1), "round": (1, 2), "contains": (2, 2),
    "starts-with": (2, 2), "ends-with": (2, 2), "today": (0, 0), "not": (1, 1),
    "true": (0, 0), "false": (0, 0), "boolean": (1, 1), "string": (1, 1),
}
_BINDING = {"or": 1, "and": 2, "=": 3, "!=": 3, "<": 4, "<=": 4, ">": 4, ">=": 4,
            "+": 5, "-": 5, "*": 6, "div": 6, "mod": 6}

_TOKEN = re.compile(r"""
    \s*(?:
      (?P<ref>\$\{(?P<refname>[^}]*)\})
    | (?P<parent>\.\./(?P<parentname>[A-Za-z_][\w.-]*))
    | (?P<number>\d+(?:\.\d*)?|\.\d+)
    | (?P<string>'[^']*'|"[^"]*")
    | (?P<op>!=|<=|>=|=|<|>|\+|-|\*|\(|\)|,)
    | (?P<current>\.)
    | (?P<word>[A-Za-z_][\w.:-]*)
    )""", re.VERBOSE)
NAME = re.compile(r"[A-Za-z_][\w.\-\[\]]*")


def _tokens(source: str) -> Iterator[tuple[str, str]]:
    position = 0
    while position < len(source):
        if source[position:].strip() == "":
            return
        match = _TOKEN.match(source, position)
        if match is None or match.end() == position:
            raise ExprError("not understood", source[position:].strip()[:30])
        position = match.end()
        kind = match.lastgroup or ""
        if kind == "ref" or kind == "refname":
            name = match.group("refname").strip()
            if not NAME.fullmatch(name):
                raise ExprError("not a question name", match.group("ref"))
            yield "ref", name
        elif kind in ("parent", "parentname"):
            yield "ref", match.group("parentname")
        elif kind == "string":
            yield "string", match.group("string")[1:-1]
        else:
            yield kind, match.group(kind)


class _Parser:
    def __init__(self, source: str, columns: bool) -> None:
        self.source = source
        self.columns = columns
        self.tokens = list(_tokens(source))
        self.position = 0
        self.depth = 0
        self.operators = 0

    def peek(self) -> tuple[str, str] | None:
        return self.tokens[self.position] if self.position < len(self.tokens) else None

    def take(self) -> tuple[str, str]:
        token = self.peek()
        if token is None:
            raise ExprError("ends too early", self.source)
        self.position += 1
        return token

    def expect(self, text: str) -> None:
        token = self.take()
        if token[1] != text:
            raise ExprError(f"expected '{text}'", token[1])

    def operator(self) -> str | None:
        token = self.peek()
        if token is None:
            return None
        if token[0] == "op" and token[1] in _BINDING:
            return token[1]
        if token[0] == "word" and token[1] in ("and", "or", "div", "mod"):
            return token[1]
        return None

    def expression(self, binding: int = 0) -> Node:
        left = self.unary()
        while (op := self.operator()) is not None and _BINDING[op] > binding:
            self.take()
            self.operators += 1
            if self.operators > MAX_OPERATORS:
                raise ExprError(f"more than {MAX_OPERATORS} operators; split it with a "
                                "calculate", self.source[:30])
            left = Binary(op, left, self.expression(_BINDING[op]))
        return left

    def unary(self) -> Node:
        self.depth += 1
        if self.depth > MAX_DEPTH:
            raise ExprError("nested too deeply", self.source[:30])
        try:
            return self._unary()
        finally:
            self.depth -= 1

    def _unary(self) -> Node:
        kind, text = self.take()
        if kind == "op" and text == "-":
            return Negate(self.unary())
        if kind == "op" and text == "(":
            inner = self.expression()
            self.expect(")")
            return inner
        if kind == "number":
            return Literal(float(text))
        if kind == "string":
            return Literal(text)
        if kind == "ref":
            return Ref(text)
        if kind == "current":
            return Current()
        if kind == "word":
            token = self.peek()
            if token != ("op", "(") and self.columns and text not in ("and", "or", "div", "mod"):
                return Column(text)
            if token != ("op", "("):
                raise ExprError("not supported (use ${name} for a question)", text)
            if text not in FUNCTIONS:
                raise ExprError("function not supported", f"{text}()")
            self.take()
            args: list[Node] = []
            if self.peek() != ("op", ")"):
                args.append(self.expression())
                while self.peek() == ("op", ","):
                    self.take()
                    args.append(self.expression())
            self.expect(")")
            low, high = FUNCTIONS[text]
            if not low <= len(args) <= high:
                raise ExprError(f"wrong number of arguments ({len(args)})", f"{text}()")
            if text == "regex":
                _check_pattern(args[1])
            return Call(text, tuple(args))
        raise ExprError("not understood", text)


# A quantified group that itself repeats, such as (a+)+: such patterns can take exponential
# time on a long answer, so a form could stall the bot with one message.
_NESTED_QUANTIFIER = re.compile(r"\((?:[^()\\]|\\.)*[+*}]\)\s*[+*{]")


def _check_pattern(node: Node) -> None:
    if not isinstance(node, Literal) or not isinstance(node.value, str):
        raise ExprError("regex() needs its pattern written out in quotes", "regex()")
    try:
        re.compile(node.value)
    except re.error as exc:
        raise ExprError(f"not a valid regular expression ({exc.msg})", node.value) from None
    if _NESTED_QUANTIFIER.search(node.value):
        raise ExprError("a repeated group that itself repeats can stall the bot; simplify it",
                        node.value)


MAX_DEPTH = 64  # brackets, minus signs and calls inside one another
MAX_OPERATORS = 150  # keeps evaluation's recursion shallow
MAX_LENGTH = 4_000


def parse(source: str, columns: bool = False) -> Expression:
    """Parse an expression, or raise ExprError naming the part not understood. With
    `columns` (a choice filter), a bare name is a column of the choice."""
    if not source.strip():
        raise ExprError("empty expression", "")
    if len(source) > MAX_LENGTH:
        raise ExprError(f"longer than {MAX_LENGTH} characters", source[:30])
    parser = _Parser(source, columns)
    tree = parser.expression()
    if parser.peek() is not None:
        raise ExprError("not understood", " ".join(t[1] for t in parser.tokens[parser.position:]))
    return Expression(source.strip(), tree)


def _refs(node: Node) -> Iterator[str]:
    match node:
        case Ref(name):
            yield name
        case Call(_, args):
            for arg in args:
                yield from _refs(arg)
        case Binary(_, left, right):
            yield from _refs(left)
            yield from _refs(right)
        case Negate(operand):
            yield from _refs(operand)
        case Literal() | Current() | Column():
            pass


def _rename(node: Node, names: Mapping[str, str]) -> Node:
    match node:
        case Ref(name):
            return Ref(names.get(name, name))
        case Call(function, args):
            return Call(function, tuple(_rename(a, names) for a in args))
        case Binary(op, left, right):
            return Binary(op, _rename(left, names), _rename(right, names))
        case Negate(operand):
            return Negate(_rename(operand, names))
        case Literal() | Current() | Column():
            return node


def _render(node: Node) -> str:
    match node:
        case Literal(value) if isinstance(value, str):
            return f'"{value}"' if "'" in value else f"'{value}'"
        case Literal(value):
            return _number_text(float(value))
        case Ref(name):
            return f"${{{name}}}"
        case Current():
            return "."
        case Column(name):
            return name
        case Call(function, args):
            return f"{function}({', '.join(_render(a) for a in args)})"
        case Binary(op, left, right):
            return f"({_render(left)} {op} {_render(right)})"
        case Negate(operand):
            return f"-{_render(operand)}"


# -- evaluation ------------------------------------------------------------------------------
_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
_EPOCH = date(1970, 1, 1)


def to_number(value: Value) -> float:
    if isinstance(value, bool):
        return 1.0 if value else 0.0
    if isinstance(value, float):
        return value
    text = value.strip()
    if _DATE.fullmatch(text):
        try:
            return float((date.fromisoformat(text) - _EPOCH).days)
        except ValueError:
            return math.nan
    try:
        return float(text) if text and text.lower() not in ("nan", "inf", "-inf",
                                                            "infinity", "-infinity") else math.nan
    except ValueError:
        return math.nan


def _number_text(number: float) -> str:
    if math.isnan(number):
        return "NaN"
    if math.isinf(number):
        return "Infinity" if number > 0 else "-Infinity"
    if number == int(number):
        return str(int(number))
    return repr(number)


def to_string(value: Value) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return _number_text(value)
    return value


def to_bool(value: Value) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, float):
        return not (value == 0 or math.isnan(value))
    return value != ""


def _equal(left: Value, right: Value) -> bool:
    if isinstance(left, bool) or isinstance(right, bool):
        return to_bool(left) == to_bool(right)
    if isinstance(left, float) or isinstance(right, float):
        return to_number(left) == to_number(right)
    return left == right


_COMPARE: Mapping[str, Callable[[float, float], bool]] = {
    "<": lambda a, b: a < b, "<=": lambda a, b: a <= b,
    ">": lambda a, b: a > b, ">=": lambda a, b: a >= b,
}


def _arithmetic(op: str, a: float, b: float) -> float:
    if op == "+":
        return a + b
    if op == "-":
        return a - b
    if op == "*":
        return a * b
    if op == "div":
        if b == 0:
            return math.nan if a == 0 or math.isnan(a) else math.copysign(math.inf, a)
        return a / b
    # mod: XPath keeps the sign of the dividend, like math.fmod
    return math.nan if b == 0 else math.fmod(a, b)


@dataclass(frozen=True)
class Context:
    """What an expression can see: answers by name, the answer being checked, today."""

    answers: Callable[[str], Value]
    current: Value = ""
    today: date = _EPOCH
    column: Callable[[str], Value] = lambda name: ""


MAX_REGEX_INPUT = 4_000  # the longest text answer


def evaluate(node: Node, context: Context) -> Value:
    match node:
        case Literal(value):
            return value
        case Ref(name):
            return context.answers(name)
        case Current():
            return context.current
        case Column(name):
            return context.column(name)
        case Negate(operand):
            return -to_number(evaluate(operand, context))
        case Binary(op, left, right):
            return _binary(op, left, right, context)
        case Call(function, args):
            return _call(function, args, context)


def _binary(op: str, left: Node, right: Node, context: Context) -> Value:
    if op == "and":
        return to_bool(evaluate(left, context)) and to_bool(evaluate(right, context))
    if op == "or":
        return to_bool(evaluate(left, context)) or to_bool(evaluate(right, context))
    a, b = evaluate(left, context), evaluate(right, context)
    if op == "=":
        return _equal(a, b)
    if op == "!=":
        return not _equal(a, b)
    if op in _COMPARE:
        return _COMPARE[op](to_number(a), to_number(b))
    return _arithmetic(op, to_number(a), to_number(b))


def _round(number: float, digits: int) -> float:
    if math.isnan(number) or math.isinf(number):
        return number
    scale = 10.0 ** max(-15, min(15, digits))  # beyond a double's precision anyway
    return math.floor(number * scale + 0.5) / scale


def _call(function: str, args: tuple[Node, ...], context: Context) -> Value:
    if function == "if":  # only the branch taken is evaluated
        chosen = args[1] if to_bool(evaluate(args[0], context)) else args[2]
        return evaluate(chosen, context)
    if function == "coalesce":
        first = to_string(evaluate(args[0], context))
        return first if first != "" else evaluate(args[1], context)
    values = [evaluate(a, context) for a in args]
    strings = [to_string(v) for v in values]
    match function:
        case "selected":
            return strings[1].strip() in strings[0].split()
        case "count-selected":
            return float(len(strings[0].split()))
        case "selected-at":
            items, index = strings[0].split(), to_number(values[1])
            return items[int(index)] if not math.isnan(index) and 0 <= index < len(items) \
                else ""
        case "regex":
            try:
                return re.search(strings[1], strings[0][:MAX_REGEX_INPUT]) is not None
            except re.error:
                return False
        case "string-length":
            return float(len(strings[0] if strings else to_string(context.current)))
        case "concat":
            return "".join(strings)
        case "int":
            number = to_number(values[0])
            return number if math.isnan(number) or math.isinf(number) else float(int(number))
        case "number":
            return to_number(values[0])
        case "round":
            digits = to_number(values[1]) if len(values) > 1 else 0.0
            return _round(to_number(values[0]), 0 if math.isnan(digits) else int(digits))
        case "contains":
            return strings[1] in strings[0]
        case "starts-with":
            return strings[0].startswith(strings[1])
        case "ends-with":
            return strings[0].endswith(strings[1])
        case "today":
            return context.today.isoformat()
        case "not":
            return not to_bool(values[0])
        case "true":
            return True
        case "false":
            return False
        case "boolean":
            return to_bool(values[0])
        case "string":
            return strings[0]
    raise ExprError("function not supported", f"{function}()")  # parse() refuses it first
