"""The expression grammar (lark, LALR) and the untyped tree it parses to."""

from __future__ import annotations

import functools

from lark import Lark, Token, Tree
from lark.exceptions import UnexpectedCharacters, UnexpectedEOF, UnexpectedInput, UnexpectedToken

from alertd.errors import ExpressionError

GRAMMAR = r"""
?start: expr

?expr: or_expr
?or_expr: and_expr (_OR and_expr)+ -> or_
        | and_expr
?and_expr: not_expr (_AND not_expr)+ -> and_
         | not_expr
?not_expr: _NOT not_expr -> not_
         | comparison
?comparison: sum_expr COMP_OP sum_expr -> compare
           | sum_expr _IN list -> in_
           | sum_expr _NOT _IN list -> not_in
           | sum_expr
?sum_expr: sum_expr ADD_OP product -> arith
         | product
?product: product MUL_OP unary -> arith
        | unary
?unary: "-" unary -> neg
      | "+" unary
      | atom
?atom: NUMBER -> number
     | STRING -> string
     | _TRUE -> true
     | _FALSE -> false
     | NAME "(" [expr ("," expr)*] ")" -> call
     | NAME -> name
     | "(" expr ")"
list: "[" [expr ("," expr)* ","?] "]"

_OR: "or"
_AND: "and"
_NOT: "not"
_IN: "in"
_TRUE: "true"
_FALSE: "false"
COMP_OP: "==" | "!=" | "<=" | ">=" | "<" | ">"
ADD_OP: "+" | "-"
MUL_OP: "*" | "/" | "%"
NAME: /[A-Za-z_][A-Za-z0-9_]*/
NUMBER: /(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?/
STRING: /"(?:[^"\\\n]|\\.)*"/ | /'(?:[^'\\\n]|\\.)*'/

%ignore /[ \t\r\n]+/
"""

_ESCAPES = {"n": "\n", "t": "\t", "\\": "\\", '"': '"', "'": "'"}


@functools.cache
def _parser() -> Lark:
    return Lark(GRAMMAR, parser="lalr", propagate_positions=True, maybe_placeholders=True)


def parse(text: str) -> Tree[Token]:
    """Parse an expression; a syntax error says where, as an offset into `text`."""
    try:
        tree = _parser().parse(text)
    except UnexpectedCharacters as exc:
        position = exc.pos_in_stream or 0
        char = text[position] if position < len(text) else ""
        hint = "; compare with ==" if char == "=" else ""
        raise ExpressionError(f"unexpected character {char!r}{hint}", position) from None
    except UnexpectedToken as exc:
        if exc.token.type == "$END":
            raise ExpressionError("expression ends too early", len(text)) from None
        raise ExpressionError(f"unexpected {exc.token.value!r}", exc.token.start_pos or 0) from None
    except UnexpectedEOF:
        raise ExpressionError("expression ends too early", len(text)) from None
    except UnexpectedInput as exc:
        raise ExpressionError("invalid expression", exc.pos_in_stream or 0) from None
    if isinstance(tree, Token):
        # A lone literal or name parses to a bare token; wrap it so callers see one shape.
        return Tree("name" if tree.type == "NAME" else tree.type.lower(), [tree])
    return tree


def unquote(token: Token) -> str:
    """The value of a STRING token, escapes resolved."""
    body = token.value[1:-1]
    out: list[str] = []
    chars = iter(enumerate(body))
    for i, ch in chars:
        if ch != "\\":
            out.append(ch)
            continue
        _, nxt = next(chars)
        if nxt not in _ESCAPES:
            raise ExpressionError(
                f"unknown escape \\{nxt} in string", (token.start_pos or 0) + 1 + i
            )
        out.append(_ESCAPES[nxt])
    return "".join(out)
