"""What the httppull source and the rest sink share: eKuiper's HTTP client settings.

`ClientSettings.parse` reads `url`, `method`, `body`, `bodyType`, `headers`, `timeout`,
`responseType`, the TLS keys and `oAuth` the way eKuiper's ClientConf does, and raises
`HttpConfigError` naming the property. `OAuth` fetches and refreshes the tokens;
`check_response` applies `responseType`. Strings holding `{{` are data templates, rendered
per request (the template engine is imported only then).
"""

from __future__ import annotations

import logging
import ssl
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

import httpx

from arrokoth.functions import jsonvalue
from arrokoth.io.props import bool_prop as _bool_prop
from arrokoth.io.props import prop

log = logging.getLogger("arrokoth.http")

#: Content-Type per bodyType ("none" sends no body)
BODY_TYPES = {
    "none": "",
    "text": "text/plain",
    "json": "application/json",
    "html": "text/html",
    "xml": "application/xml",
    "javascript": "application/javascript",
    "form": "application/x-www-form-urlencoded;param=value",
    "binary": "application/octet-stream",
}
RESPONSE_TYPES = ("code", "body")
PULL_METHODS = ("GET", "POST", "PUT", "DELETE")
SINK_METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE", "HEAD")
DEFAULT_TIMEOUT_MS = 5000



class HttpConfigError(Exception):
    """A property is wrong; the message names it."""


class ResponseError(Exception):
    """The server answered, but not with success: `response code error: <code>`."""


class BodyError(Exception):
    """The response body is not the JSON that was expected: `response body error: ...`."""


def bool_prop(props: dict, name: str, default: bool = False) -> bool:
    return _bool_prop(props, name, default, error=HttpConfigError)


def duration_prop(props: dict, name: str, default_ms: int) -> int:
    """Milliseconds, or a Go duration string such as `5s`; never negative."""
    from arrokoth.plan.options import OptionError, parse_duration_ms

    v = prop(props, name, default_ms)
    if v is None:
        return default_ms
    try:
        ms = parse_duration_ms(v, name)
    except OptionError:
        raise HttpConfigError(f"{name}: expected milliseconds or a duration such as 5s but got {v!r}") from None
    if ms < 0:
        raise HttpConfigError(f"{name}: must be greater than or equal to 0")
    return ms


def _text_prop(props: dict, name: str, default: str = "") -> str:
    v = prop(props, name, default)
    if v is None:
        return default
    if isinstance(v, dict | list):
        # eKuiper takes a string; an object written inline means its JSON text
        return jsonvalue.encode(v).decode()
    if isinstance(v, bool) or not isinstance(v, str | int | float):
        raise HttpConfigError(f"{name}: expected a string but got {v!r}")
    return str(v)


class Template:
    """A property value that may be a data template; plain text renders as itself."""

    def __init__(self, name: str, text: str):
        self.name = name
        self.text = text
        self._compiled: Any = None
        if "{{" in text:
            try:
                from arrokoth.io.templates import TemplateError, compile_template
            except ImportError:
                raise HttpConfigError(f"{name}: data templates are not available") from None
            try:
                self._compiled = compile_template(text)
            except TemplateError as e:
                raise HttpConfigError(f"{name}: invalid template {text!r}: {e}") from None

    @property
    def dynamic(self) -> bool:
        return self._compiled is not None

    def render(self, data: Any) -> str:
        if self._compiled is None:
            return self.text
        return str(self._compiled.render(data))


def _headers_prop(props: dict, name: str = "headers") -> dict[str, Template]:
    v = prop(props, name)
    if v is None or v == "":
        return {}
    if not isinstance(v, dict):
        raise HttpConfigError(f"{name}: expected an object of header names and values but got {v!r}")
    out = {}
    for k, value in v.items():
        if isinstance(value, dict | list) or value is None:
            raise HttpConfigError(f"{name}: the value of header {k} must be a string")
        out[str(k)] = Template(f"{name}.{k}", value if isinstance(value, str) else jsonvalue.encode(value).decode())
    return out


def check_url(name: str, url: str) -> None:
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https"):
        raise HttpConfigError(f"{name}: {url!r} is not an http or https URL")
    if not parts.netloc:
        raise HttpConfigError(f"{name}: the host of {url!r} is missing")


def _verify(props: dict) -> bool | ssl.SSLContext:
    insecure = bool_prop(props, "insecureSkipVerify", False)
    ca = _text_prop(props, "rootCaPath")
    cert = _text_prop(props, "certificationPath")
    key = _text_prop(props, "privateKeyPath")
    if not ca and not cert:
        return not insecure
    try:
        ctx = ssl.create_default_context(cafile=ca or None)
    except OSError as e:
        raise HttpConfigError(f"rootCaPath: cannot read {ca}: {e.strerror or e}") from None
    if insecure:
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
    if cert:
        try:
            ctx.load_cert_chain(cert, key or None)
        except (OSError, ssl.SSLError) as e:
            raise HttpConfigError(f"certificationPath: cannot load {cert} with {key or 'no key'}: {e}") from None
    return ctx


@dataclass
class ClientSettings:
    url: Template
    method: Template
    body_type: str
    headers: dict[str, Template]
    body: Template
    timeout_ms: int
    response_type: str
    verify: bool | ssl.SSLContext
    oauth: OAuth | None = None
    incremental: bool = False

    @classmethod
    def parse(cls, props: dict, *, path: str = "", methods: tuple[str, ...] = PULL_METHODS,
              default_method: str = "GET", default_url: str | None = "http://localhost") -> ClientSettings:
        url = _text_prop(props, "url", default_url or "")
        if not url:
            raise HttpConfigError("url: the url is required")
        url = Template("url", url + path)
        if not url.dynamic:
            check_url("url", url.text)
        method = Template("method", _text_prop(props, "method", default_method) or default_method)
        if not method.dynamic:
            upper = method.text.upper()
            if upper not in methods:
                raise HttpConfigError(f"method: unsupported HTTP method {method.text}, expected one of "
                                      + ", ".join(m.lower() for m in methods))
            method = Template("method", upper)
        body_type = _text_prop(props, "bodyType").lower()
        if not body_type:
            body_type = "none" if method.text in ("GET", "HEAD") else "json"
        if body_type not in BODY_TYPES:
            raise HttpConfigError(f"bodyType: invalid body type {body_type}, expected one of " + ", ".join(BODY_TYPES))
        response_type = _text_prop(props, "responseType", "code") or "code"
        if response_type not in RESPONSE_TYPES:
            raise HttpConfigError(f"responseType: invalid response type {response_type}, expected code or body")
        oauth_conf = prop(props, "oAuth")
        return cls(
            url=url,
            method=method,
            body_type=body_type,
            headers=_headers_prop(props),
            body=Template("body", _text_prop(props, "body")),
            timeout_ms=duration_prop(props, "timeout", DEFAULT_TIMEOUT_MS),
            response_type=response_type,
            verify=_verify(props),
            oauth=OAuth.parse(oauth_conf) if oauth_conf else None,
            incremental=bool_prop(props, "incremental", False),
        )

    def client(self) -> httpx.AsyncClient:
        # like Go's http.Client: no proxy from the environment, redirects followed, 0 = no timeout
        timeout = self.timeout_ms / 1000 if self.timeout_ms else None
        return httpx.AsyncClient(verify=self.verify, timeout=timeout, trust_env=False, follow_redirects=True)

    def render_headers(self, data: Any) -> dict[str, str]:
        return {k: t.render(data) for k, t in self.headers.items()}


def request(client: httpx.AsyncClient, method: str, url: str, headers: dict[str, str],
            body_type: str, body: bytes | str | None) -> httpx.Request:
    """A request with the Content-Type of `body_type` unless the headers set one."""
    content = None
    merged: dict[str, str] = {}
    if body_type != "none":
        content = body.encode() if isinstance(body, str) else (body or b"")
        if BODY_TYPES[body_type]:
            merged["Content-Type"] = BODY_TYPES[body_type]
    for k, v in headers.items():
        if k.lower() == "content-type":
            merged.pop("Content-Type", None)
        merged[k] = v
    return client.build_request(method, url, headers=merged, content=content)


def decode_objects(content: bytes) -> list[dict]:
    """A JSON object, or an array of objects, as a list (eKuiper's decode)."""
    try:
        value = jsonvalue.loads(content)
    except jsonvalue.DecodeError as e:
        raise BodyError(f"response body error: decode fail for {e}") from None
    if isinstance(value, dict):
        return [value]
    if isinstance(value, list) and all(isinstance(v, dict) for v in value):
        return value
    raise BodyError("response body error: decode fail for only map[string]interface{} and "
                    "[]map[string]interface{} is supported")


def _code(item: dict) -> int:
    v = prop(item, "code", 0)
    if isinstance(v, bool):
        return 0
    if isinstance(v, int | float):
        return int(v)
    if isinstance(v, str) and v.strip().lstrip("-").isdigit():
        return int(v)
    return 0


def check_response(status: int, content: bytes, response_type: str) -> list[dict] | None:
    """Raise ResponseError unless the answer is a success: a 2xx status and, with
    responseType `body`, a 2xx `code` in every object of the JSON body (then returned)."""
    if not 200 <= status <= 299:
        raise ResponseError(f"response code error: {status}")
    if response_type != "body":
        return None
    items = decode_objects(content)
    for item in items:
        code = _code(item)
        if not 200 <= code <= 299:
            raise ResponseError(f"response code error: {code}")
    return items


@dataclass
class OAuth:
    """eKuiper's `oAuth`: POST `access.url` for tokens, then (when set) POST `refresh.url`
    with headers templated from the tokens; refreshed once `access.expire` seconds passed."""

    access_url: str
    access_body: str
    access_headers: dict[str, Template]
    expire: Template
    refresh_url: str = ""
    refresh_headers: dict[str, Template] = field(default_factory=dict)
    refresh_body: Template | None = None
    tokens: dict = field(default_factory=dict)
    expire_s: int = 0
    updated_ms: int = 0

    @classmethod
    def parse(cls, conf: Any) -> OAuth | None:
        if not isinstance(conf, dict):
            raise HttpConfigError(f"oAuth: expected an object with access and refresh but got {conf!r}")
        access = prop(conf, "access")
        if not isinstance(access, dict):
            raise HttpConfigError("oAuth: if setting oAuth, `access` property is required")
        try:
            url = _text_prop(access, "url")
            if not url:
                # eKuiper ignores an oAuth without an access url, so UIs may send empty forms
                log.warning("oAuth.access.url is not set, so the oAuth setting is ignored")
                return None
            check_url("url", url)
            oauth = cls(url, _text_prop(access, "body"), _headers_prop(access),
                        Template("expire", _text_prop(access, "expire")))
        except HttpConfigError as e:
            raise HttpConfigError(f"oAuth.access.{e}") from None
        refresh = prop(conf, "refresh")
        if isinstance(refresh, dict):
            try:
                oauth.refresh_url = _text_prop(refresh, "url")
                if oauth.refresh_url:
                    check_url("url", oauth.refresh_url)
                    oauth.refresh_headers = _headers_prop(refresh)
                    oauth.refresh_body = Template("body", _text_prop(refresh, "body"))
            except HttpConfigError as e:
                raise HttpConfigError(f"oAuth.refresh.{e}") from None
        return oauth

    def expired(self, now_ms: int) -> bool:
        return self.expire_s > 0 and now_ms - self.updated_ms >= self.expire_s * 1000

    async def authorize(self, client: httpx.AsyncClient, now_ms: int) -> None:
        """Fetch the access token (and refresh it right away when a refresh url is set, as
        eKuiper does)."""
        headers = {k: t.render(None) for k, t in self.access_headers.items()}
        self.tokens = await self._post(client, self.access_url, headers, self.access_body)
        text = self.expire.render(self.tokens).strip()
        try:
            self.expire_s = int(float(text)) if text else 0
        except ValueError:
            raise ResponseError(f"fail to covert the expire time {text} for access token") from None
        if self.refresh_url:
            await self.refresh(client, now_ms)
        else:
            self.updated_ms = now_ms

    async def refresh(self, client: httpx.AsyncClient, now_ms: int) -> None:
        headers = {k: t.render(self.tokens) for k, t in self.refresh_headers.items()}
        body = self.refresh_body.render(self.tokens) if self.refresh_body is not None else ""
        fresh = await self._post(client, self.refresh_url, headers, body)
        self.tokens.update({k: v for k, v in fresh.items() if v is not None})
        self.updated_ms = now_ms

    async def ensure_fresh(self, client: httpx.AsyncClient, now_ms: int) -> None:
        """Renew expired tokens: by the refresh url, or by a new access request without one."""
        if not self.expired(now_ms):
            return
        if self.refresh_url:
            await self.refresh(client, now_ms)
        else:
            await self.authorize(client, now_ms)

    @staticmethod
    async def _post(client: httpx.AsyncClient, url: str, headers: dict[str, str], body: str) -> dict:
        resp = await client.send(request(client, "POST", url, headers, "json", body))
        check_response(resp.status_code, resp.content, "code")
        return decode_objects(resp.content)[0] if resp.content.strip() else {}


async def ping(settings: ClientSettings, timeout: float) -> None:
    """A connectivity check: the url answers HTTP (any status but 401/403 counts as reachable)."""
    from urllib.parse import urlsplit

    from arrokoth.io.connectivity import ConnectionCheckError

    url = settings.url.text
    if settings.url.dynamic:  # a templated url: check the server it names
        parts = urlsplit(url.split("{{", 1)[0])
        url = f"{parts.scheme}://{parts.netloc}/"
    async with httpx.AsyncClient(verify=settings.verify, timeout=timeout, trust_env=False) as client:
        try:
            resp = await client.request("GET" if settings.method.dynamic else settings.method.text, url,
                                        headers={} if any(t.dynamic for t in settings.headers.values())
                                        else settings.render_headers(None))
        except httpx.TimeoutException:
            raise ConnectionCheckError(f"{url}: timed out after {timeout:g}s") from None
        except httpx.HTTPError as e:
            from arrokoth.io.connectivity import describe_os_error, socket_error

            cause = socket_error(e)
            reason = describe_os_error(cause) if cause is not None else (str(e) or type(e).__name__)
            raise ConnectionCheckError(f"{url}: {reason}") from None
    if resp.status_code in (401, 403):
        raise ConnectionCheckError(f"{url}: bad credentials (HTTP {resp.status_code})")

