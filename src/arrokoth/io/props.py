"""Connector properties as eKuiper reads them: names match case-insensitively, and a bool
given as a string takes Go's strconv.ParseBool spellings (bool("false") is True in Python)."""

from __future__ import annotations

from typing import Any

TRUE = ("1", "t", "T", "TRUE", "true", "True")
FALSE = ("0", "f", "F", "FALSE", "false", "False")


def prop(props: dict | None, name: str, default: Any = None) -> Any:
    """The property `name`, matched case-insensitively, as eKuiper's struct mapping does."""
    if not props:
        return default
    if name in props:
        return props[name]
    lname = name.lower()
    for k, v in props.items():
        if isinstance(k, str) and k.lower() == lname:
            return v
    return default


def bool_prop(
    props: dict | None,
    name: str,
    default: bool = False,
    *,
    error: type[Exception] = ValueError,
    expected: str = "true or false",
) -> bool:
    """A bool property; anything else raises `error` naming the property."""
    v = prop(props, name, default)
    if v is None or isinstance(v, bool):
        return bool(v)
    if isinstance(v, str):
        if v in TRUE:
            return True
        if v in FALSE:
            return False
    raise error(f"{name}: expected {expected} but got {v!r}")


class MissingExtra(ValueError):
    """A connector's client library is not installed; the message names the extra."""


def require_extra(module: str, extra: str, connector: str, package: str | None = None) -> Any:
    """`module` imported, or MissingExtra telling how to install the connector's extra
    (`package`: the PyPI name, when it is not the module's)."""
    import importlib

    try:
        return importlib.import_module(module)
    except ImportError:
        raise MissingExtra(
            f"the {connector} connector needs the {package or module.split('.')[0]} package: "
            f"install the {extra} extra, pip install 'arrokoth[{extra}]'"
        ) from None


def redact_url(url: str) -> str:
    """`url` with the password of its user info masked, for logs and error messages."""
    from urllib.parse import urlsplit, urlunsplit

    try:
        parts = urlsplit(url)
    except ValueError:
        return url
    if parts.password is None:
        return url
    host = parts.netloc.rsplit("@", 1)[1]
    return urlunsplit(parts._replace(netloc=f"{parts.username}:******@{host}"))
