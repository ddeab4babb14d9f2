"""JWT authentication of the REST API, as eKuiper does it when `basic.authentication` is on.

The `Authorization` header holds the raw token (no `Bearer ` prefix). The token is RS256-signed;
its `iss` claim names a public key file in the key directory (matched case-insensitively) and its
`aud` claim must contain `eKuiper`. No login endpoint exists: tokens are minted elsewhere.

Like eKuiper's middleware, this runs only on requests the router matches, so an unknown path still
gets the router's 404 and a wrong method its 405; `/` and `/ping` are never checked.
"""

from __future__ import annotations

import logging
import os
import warnings
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

import jwt
from cryptography import x509
from cryptography.hazmat.primitives.asymmetric.rsa import RSAPublicKey
from cryptography.hazmat.primitives.serialization import load_pem_public_key
from starlette.routing import Match
from starlette.types import ASGIApp, Receive, Scope, Send

__all__ = ["EXEMPT_PATHS", "AUDIENCE", "JWTAuth", "KeyDirectory", "TokenError", "jwt_middleware", "verify_token"]

log = logging.getLogger(__name__)

EXEMPT_PATHS = frozenset({"/", "/ping"})
AUDIENCE = "eKuiper"
# every method golang-jwt verifies with an RSA public key, so tokens eKuiper accepts are accepted here
RSA_ALGORITHMS = ("RS256", "RS384", "RS512", "PS256", "PS384", "PS512")
# the other methods golang-jwt knows; they fail only once the (RSA) key is in hand
_OTHER_ALGORITHMS = ("HS256", "HS384", "HS512", "ES256", "ES384", "ES512", "EdDSA", "none")
_MIN_QUIET_KEY_BITS = 2048


class TokenError(Exception):
    """A rejected token; the message is the whole 401 body (without the newline)."""


class _KeyError(Exception):
    pass


@dataclass
class _CachedKey:
    stamp: tuple[int, int, int]
    key: RSAPublicKey


class KeyDirectory:
    """The public keys in one directory, looked up by file name ignoring case.

    Read lazily; a file is parsed again only when its mtime, size or inode changes, and the
    listing is refreshed when the directory's mtime changes or a name is not found, so keys can
    be added, replaced or removed while the server runs.
    """

    def __init__(self, path: str | os.PathLike):
        self.path = Path(path)
        self._names: dict[str, str] = {}
        self._listed_at: int | None = None
        self._keys: dict[str, _CachedKey] = {}
        self._warned_missing = False

    def get(self, issuer: str) -> RSAPublicKey:
        try:
            dir_mtime = os.stat(self.path).st_mtime_ns
        except OSError:
            if not self._warned_missing:
                log.warning("the JWT public key directory %s does not exist", self.path)
                self._warned_missing = True
            raise _KeyError(self._not_found(issuer)) from None
        if dir_mtime != self._listed_at or issuer.lower() not in self._names:
            self._list(dir_mtime)
        name = self._names.get(issuer.lower())
        if name is None:
            raise _KeyError(self._not_found(issuer))
        try:
            st = os.stat(self.path / name)
        except OSError:
            raise _KeyError(self._not_found(issuer)) from None
        stamp = (st.st_mtime_ns, st.st_size, st.st_ino)
        cached = self._keys.get(name)
        if cached is not None and cached.stamp == stamp:
            return cached.key
        try:
            data = (self.path / name).read_bytes()
        except OSError as e:
            raise _KeyError(f"read {name}: {e.strerror}") from None
        key = _parse_public_key(data)
        if key.key_size < _MIN_QUIET_KEY_BITS:
            log.warning("the JWT public key %s has only %d bits", name, key.key_size)
        self._keys[name] = _CachedKey(stamp, key)
        return key

    def _list(self, dir_mtime: int) -> None:
        names: dict[str, str] = {}
        try:
            # sorted, so of two names differing only in case the same one always wins, as in Go
            for entry in sorted(os.scandir(self.path), key=lambda e: e.name):
                if entry.is_file():
                    names.setdefault(entry.name.lower(), entry.name)
        except OSError:
            names = {}
        self._names = names
        self._listed_at = dir_mtime
        kept = set(names.values())
        self._keys = {n: k for n, k in self._keys.items() if n in kept}
        self._warned_missing = False

    @staticmethod
    def _not_found(issuer: str) -> str:
        return f"not found target key file {issuer} in /etc/mgmt"


def _parse_public_key(data: bytes) -> RSAPublicKey:
    """A PEM `PUBLIC KEY`, `RSA PUBLIC KEY` or certificate, as golang-jwt accepts."""
    if b"-----BEGIN" not in data:
        raise _KeyError("invalid key: Key must be a PEM encoded PKCS1 or PKCS8 key")
    try:
        key = load_pem_public_key(data)
    except ValueError:
        try:
            key = x509.load_pem_x509_certificate(data).public_key()
        except ValueError:
            raise _KeyError("invalid key: Key must be a PEM encoded PKCS1 or PKCS8 key") from None
    if not isinstance(key, RSAPublicKey):
        raise _KeyError("key is not a valid RSA public key")
    return key


def _audiences(value: object) -> list[str]:
    """The `aud` claim as a list: a string or a list of strings (golang-jwt's ClaimStrings)."""
    if value is None:
        return []
    if isinstance(value, str):
        return [value]
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        return value
    raise TokenError("validate token error: token is malformed: could not JSON decode claim: invalid type for claim")


def verify_token(token: str, keys: KeyDirectory) -> dict:
    """The verified claims of `token`, or TokenError with eKuiper's wording.

    The checks run in golang-jwt's order (shape, method, key, signature, time claims), then the
    audience, so each failure reports what eKuiper would report.
    """
    invalid = "validate token error: "
    try:
        header = jwt.get_unverified_header(token)
        claims = jwt.decode(token, options={"verify_signature": False})
    except jwt.PyJWTError as e:
        raise TokenError(f"{invalid}token is malformed: {e}") from None
    audiences = _audiences(claims.get("aud"))
    alg = header.get("alg")
    if alg not in RSA_ALGORITHMS and alg not in _OTHER_ALGORITHMS:
        raise TokenError(f"{invalid}token is unverifiable: signing method (alg) is unavailable")
    issuer = claims.get("iss")
    if not isinstance(issuer, str) or not issuer:
        raise TokenError(f"{invalid}token is unverifiable: error while executing keyfunc: "
                         "issuer field not exist in jwt payload")
    try:
        key = keys.get(issuer)
    except _KeyError as e:
        raise TokenError(f"{invalid}token is unverifiable: error while executing keyfunc: {e}") from None
    if alg not in RSA_ALGORITHMS:
        reason = "'none' signature type is not allowed" if alg == "none" else "key is of invalid type"
        raise TokenError(f"{invalid}token signature is invalid: {reason}")
    options = {"verify_aud": False, "verify_iss": False}
    try:
        if key.key_size < _MIN_QUIET_KEY_BITS:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", jwt.InsecureKeyLengthWarning)
                claims = jwt.decode(token, key, algorithms=[alg], options=options)
        else:
            claims = jwt.decode(token, key, algorithms=[alg], options=options)
    except jwt.InvalidSignatureError:
        raise TokenError(f"{invalid}token signature is invalid: crypto/rsa: verification error") from None
    except jwt.ExpiredSignatureError:
        raise TokenError(f"{invalid}token has invalid claims: token is expired") from None
    except jwt.ImmatureSignatureError as e:
        reason = "token used before issued" if "(iat)" in str(e) else "token is not valid yet"
        raise TokenError(f"{invalid}token has invalid claims: {reason}") from None
    except jwt.PyJWTError as e:
        raise TokenError(f"{invalid}token is malformed: {e}") from None
    if AUDIENCE not in audiences:
        # Go prints the slice with %s: [a b]
        raise TokenError(f"audience field should contain {AUDIENCE}, but got [{' '.join(audiences)}]")
    return claims


def _routes(app: ASGIApp) -> Iterable | None:
    router = getattr(app, "router", None)
    return getattr(router, "routes", None)


class JWTAuth:
    """Pure ASGI middleware around the Starlette app; see the module docstring."""

    def __init__(self, app: ASGIApp, keys: KeyDirectory):
        self.app = app
        self.keys = keys

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket") or scope["path"] in EXEMPT_PATHS or not self._routed(scope):
            await self.app(scope, receive, send)
            return
        token = ""
        for name, value in scope["headers"]:
            if name.lower() == b"authorization":
                token = value.decode("latin-1")
                break  # Go's Header.Get: the first value
        problem = "missing_token"
        if token:
            try:
                verify_token(token, self.keys)
                problem = ""
            except TokenError as e:
                problem = str(e)
        if not problem:
            await self.app(scope, receive, send)
        elif scope["type"] == "websocket":
            await send({"type": "websocket.close", "code": 1008})
        else:
            await _unauthorized(problem, send)

    def _routed(self, scope: Scope) -> bool:
        """Whether the router would hand this request to an endpoint (not 404 or 405)."""
        routes = _routes(self.app)
        if routes is None:
            return True  # not a router we can see into: check everything
        return any(route.matches(scope)[0] is Match.FULL for route in routes)


async def _unauthorized(message: str, send: Send) -> None:
    # Go's http.Error: text/plain, nosniff, the message and a newline
    body = f"{message}\n".encode()
    await send({
        "type": "http.response.start",
        "status": 401,
        "headers": [
            (b"content-type", b"text/plain; charset=utf-8"),
            (b"x-content-type-options", b"nosniff"),
            (b"content-length", str(len(body)).encode()),
        ],
    })
    await send({"type": "http.response.body", "body": body})


def jwt_middleware(key_dir: str | os.PathLike) -> Callable[[ASGIApp], ASGIApp]:
    """An ASGI middleware factory for `create_app(..., auth=...)`, with public keys in `key_dir`."""
    keys = KeyDirectory(key_dir)

    def wrap(app: ASGIApp) -> ASGIApp:
        return JWTAuth(app, keys)

    return wrap
