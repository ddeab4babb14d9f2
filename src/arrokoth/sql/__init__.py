"""eKuiper's SQL dialect: tokenizer, parser, AST and canonical printer."""

from . import ast
from .parser import parse, parse_expr
from .printer import to_sql
from .tokens import SqlSyntaxError

__all__ = ["SqlSyntaxError", "ast", "parse", "parse_expr", "to_sql"]
