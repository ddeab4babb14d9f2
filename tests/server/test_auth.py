"""JWT authentication of the REST API (spec §1.1), driven in-process through the real app.

Uses the `engine` and `anyio_backend` fixtures of tests/server/conftest.py.
"""

from __future__ import annotations

import base64
import os
import time
from datetime import datetime
from pathlib import Path

import httpx
import jwt
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import NameOID

from arrokoth.server.app import create_app
from arrokoth.server.auth import jwt_middleware

pytestmark = pytest.mark.anyio

ISSUER = "sample_key.pub"
INVALID = "validate token error: "


def _rsa_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


@pytest.fixture(scope="module")
def private_key() -> rsa.RSAPrivateKey:
    return _rsa_key()


@pytest.fixture(scope="module")
def other_key() -> rsa.RSAPrivateKey:
    return _rsa_key()


def public_pem(key: rsa.RSAPrivateKey, fmt=serialization.PublicFormat.SubjectPublicKeyInfo) -> bytes:
    return key.public_key().public_bytes(serialization.Encoding.PEM, fmt)


def mint(key, *, iss: str | None = ISSUER, aud=("eKuiper",), lifetime: int = 600, algorithm="RS256", **extra) -> str:
    claims: dict = {"exp": int(time.time()) + lifetime, **extra}
    if iss is not None:
        claims["iss"] = iss
    if aud is not None:
        claims["aud"] = list(aud) if isinstance(aud, tuple) else aud
    return jwt.encode(claims, key, algorithm=algorithm)


@pytest.fixture
def key_dir(tmp_path: Path, private_key) -> Path:
    d = tmp_path / "etc" / "mgmt"
    d.mkdir(parents=True)
    (d / ISSUER).write_bytes(public_pem(private_key))
    return d


@pytest.fixture
async def client(engine, key_dir):
    app = create_app(engine, auth=jwt_middleware(key_dir))
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test") as c:
        yield c


def assert_401(resp: httpx.Response, body: str) -> None:
    assert resp.status_code == 401, resp.text
    assert resp.text == body + "\n"
    assert resp.headers["content-type"] == "text/plain; charset=utf-8"
    assert resp.headers["x-content-type-options"] == "nosniff"


# --- what passes -----------------------------------------------------------------------------------------


async def test_a_valid_token_passes(client, private_key):
    resp = await client.get("/streams", headers={"Authorization": mint(private_key)})
    assert resp.status_code == 200
    assert resp.json() == []


@pytest.mark.parametrize("aud", [("neuron", "eKuiper"), "eKuiper"])
async def test_the_audience_may_be_a_list_or_a_string(client, private_key, aud):
    resp = await client.get("/streams", headers={"Authorization": mint(private_key, aud=aud)})
    assert resp.status_code == 200


async def test_the_issuer_names_the_key_file_ignoring_case(client, private_key):
    resp = await client.get("/streams", headers={"Authorization": mint(private_key, iss="Sample_Key.PUB")})
    assert resp.status_code == 200


@pytest.mark.parametrize("algorithm", ["RS512", "PS256"])
async def test_other_rsa_methods_are_accepted_as_golang_jwt_does(client, private_key, algorithm):
    resp = await client.get("/streams", headers={"Authorization": mint(private_key, algorithm=algorithm)})
    assert resp.status_code == 200


@pytest.mark.parametrize(
    "fmt", [serialization.PublicFormat.SubjectPublicKeyInfo, serialization.PublicFormat.PKCS1], ids=["pkix", "pkcs1"]
)
async def test_public_key_formats(engine, tmp_path, private_key, fmt):
    (tmp_path / "k").write_bytes(public_pem(private_key, fmt))
    app = create_app(engine, auth=jwt_middleware(tmp_path))
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test") as c:
        resp = await c.get("/streams", headers={"Authorization": mint(private_key, iss="k")})
    assert resp.status_code == 200


async def test_a_certificate_holding_the_key_is_accepted(engine, tmp_path, private_key):
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "issuer")])
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(private_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(datetime(2020, 1, 1))
        .not_valid_after(datetime(2100, 1, 1))
        .sign(private_key, hashes.SHA256())
    )
    (tmp_path / "cert.pem").write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    app = create_app(engine, auth=jwt_middleware(tmp_path))
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test") as c:
        resp = await c.get("/streams", headers={"Authorization": mint(private_key, iss="cert.pem")})
    assert resp.status_code == 200


# --- what fails ------------------------------------------------------------------------------------------


async def test_no_header_is_missing_token(client):
    assert_401(await client.get("/streams"), "missing_token")


async def test_an_empty_header_is_missing_token(client):
    assert_401(await client.get("/streams", headers={"Authorization": ""}), "missing_token")


async def test_a_bearer_prefix_fails_parsing(client, private_key):
    resp = await client.get("/streams", headers={"Authorization": f"Bearer {mint(private_key)}"})
    assert resp.status_code == 401
    assert resp.text.startswith(INVALID + "token is malformed: ")


async def test_garbage_is_malformed(client):
    resp = await client.get("/streams", headers={"Authorization": "not-a-token"})
    assert resp.status_code == 401
    assert resp.text.startswith(INVALID + "token is malformed: ")


async def test_a_token_signed_with_another_key_is_rejected(client, other_key):
    resp = await client.get("/streams", headers={"Authorization": mint(other_key)})
    assert_401(resp, INVALID + "token signature is invalid: crypto/rsa: verification error")


async def test_an_unknown_issuer_is_rejected(client, private_key):
    resp = await client.get("/streams", headers={"Authorization": mint(private_key, iss="nobody")})
    assert_401(resp, INVALID + "token is unverifiable: error while executing keyfunc: "
                              "not found target key file nobody in /etc/mgmt")


async def test_a_missing_issuer_is_rejected(client, private_key):
    resp = await client.get("/streams", headers={"Authorization": mint(private_key, iss=None)})
    assert_401(resp, INVALID + "token is unverifiable: error while executing keyfunc: "
                              "issuer field not exist in jwt payload")


async def test_an_expired_token_is_rejected(client, private_key):
    resp = await client.get("/streams", headers={"Authorization": mint(private_key, lifetime=-60)})
    assert_401(resp, INVALID + "token has invalid claims: token is expired")


async def test_a_token_not_yet_valid_is_rejected(client, private_key):
    token = mint(private_key, nbf=int(time.time()) + 300)
    assert_401(await client.get("/streams", headers={"Authorization": token}),
               INVALID + "token has invalid claims: token is not valid yet")


async def test_a_token_issued_in_the_future_is_rejected(client, private_key):
    token = mint(private_key, iat=int(time.time()) + 300)
    assert_401(await client.get("/streams", headers={"Authorization": token}),
               INVALID + "token has invalid claims: token used before issued")


async def test_a_symmetric_token_is_rejected(client):
    token = mint("a-shared-secret-of-thirty-two-bytes!", algorithm="HS256")
    assert_401(await client.get("/streams", headers={"Authorization": token}),
               INVALID + "token signature is invalid: key is of invalid type")


async def test_an_unsigned_token_is_rejected(client):
    token = mint(None, algorithm="none")
    assert_401(await client.get("/streams", headers={"Authorization": token}),
               INVALID + "token signature is invalid: 'none' signature type is not allowed")


async def test_an_unknown_method_is_rejected(client, private_key):
    _, payload, signature = mint(private_key).split(".")
    header = base64.urlsafe_b64encode(b'{"alg":"XY9","typ":"JWT"}').rstrip(b"=").decode()
    token = f"{header}.{payload}.{signature}"
    assert_401(await client.get("/streams", headers={"Authorization": token}),
               INVALID + "token is unverifiable: signing method (alg) is unavailable")


async def test_a_short_rsa_key_works_without_warnings(engine, tmp_path):
    small = rsa.generate_private_key(public_exponent=65537, key_size=1024)
    (tmp_path / "k").write_bytes(public_pem(small))
    app = create_app(engine, auth=jwt_middleware(tmp_path))
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test") as c:
        with pytest.warns(jwt.InsecureKeyLengthWarning):  # only where the test mints it
            token = mint(small, iss="k")
        resp = await c.get("/streams", headers={"Authorization": token})
    assert resp.status_code == 200


@pytest.mark.parametrize(
    ("aud", "shown"),
    [(("neuron", "edge"), "[neuron edge]"), (("ekuiper",), "[ekuiper]"), ("neuron", "[neuron]"), (None, "[]")],
)
async def test_a_wrong_audience_is_rejected(client, private_key, aud, shown):
    resp = await client.get("/streams", headers={"Authorization": mint(private_key, aud=aud)})
    assert_401(resp, f"audience field should contain eKuiper, but got {shown}")


async def test_an_audience_of_the_wrong_type_is_malformed(client, private_key):
    token = jwt.encode({"iss": ISSUER, "aud": 5, "exp": int(time.time()) + 60}, private_key, algorithm="RS256")
    resp = await client.get("/streams", headers={"Authorization": token})
    assert_401(resp, INVALID + "token is malformed: could not JSON decode claim: invalid type for claim")


async def test_a_key_file_that_is_not_pem(engine, tmp_path, private_key):
    (tmp_path / "k").write_text("hello")
    app = create_app(engine, auth=jwt_middleware(tmp_path))
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test") as c:
        resp = await c.get("/streams", headers={"Authorization": mint(private_key, iss="k")})
    assert_401(resp, INVALID + "token is unverifiable: error while executing keyfunc: "
                              "invalid key: Key must be a PEM encoded PKCS1 or PKCS8 key")


async def test_a_key_file_that_is_not_rsa(engine, tmp_path, private_key):
    ec_pub = ec.generate_private_key(ec.SECP256R1()).public_key()
    (tmp_path / "k").write_bytes(
        ec_pub.public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    )
    app = create_app(engine, auth=jwt_middleware(tmp_path))
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test") as c:
        resp = await c.get("/streams", headers={"Authorization": mint(private_key, iss="k")})
    assert_401(resp, INVALID + "token is unverifiable: error while executing keyfunc: "
                              "key is not a valid RSA public key")


# --- keys change while the server runs -------------------------------------------------------------------


async def test_a_replaced_key_file_is_read_again(client, key_dir, private_key, other_key):
    old, new = mint(private_key), mint(other_key)
    assert (await client.get("/streams", headers={"Authorization": old})).status_code == 200
    path = key_dir / ISSUER
    path.write_bytes(public_pem(other_key))
    st = path.stat()
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns + 1_000_000_000))  # a later mtime, however coarse the clock
    assert (await client.get("/streams", headers={"Authorization": new})).status_code == 200
    assert (await client.get("/streams", headers={"Authorization": old})).status_code == 401


async def test_a_key_directory_created_later_is_picked_up(engine, tmp_path, private_key):
    key_dir = tmp_path / "later"
    app = create_app(engine, auth=jwt_middleware(key_dir))
    token = mint(private_key, iss="k")
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test") as c:
        assert (await c.get("/streams", headers={"Authorization": token})).status_code == 401
        key_dir.mkdir()
        (key_dir / "k").write_bytes(public_pem(private_key))
        assert (await c.get("/streams", headers={"Authorization": token})).status_code == 200
        (key_dir / "k").unlink()
        assert (await c.get("/streams", headers={"Authorization": token})).status_code == 401


# --- what is never checked -------------------------------------------------------------------------------


@pytest.mark.parametrize("path", ["/", "/ping"])
async def test_root_and_ping_need_no_token(client, path):
    assert (await client.get(path)).status_code == 200


async def test_an_unknown_path_is_the_routers_404(client):
    resp = await client.get("/no/such/path")
    assert resp.status_code == 404
    assert resp.text == "404 page not found\n"


async def test_a_wrong_method_is_the_routers_405(client):
    assert (await client.patch("/streams")).status_code == 405


async def test_options_without_origin_is_the_routers_405(client):
    assert (await client.options("/streams")).status_code == 405


async def test_a_cors_preflight_is_answered_without_a_token(client):
    resp = await client.options(
        "/streams",
        headers={"Origin": "http://ui", "Access-Control-Request-Method": "DELETE",
                 "Access-Control-Request-Headers": "Authorization"},
    )
    assert resp.status_code == 200
    assert resp.headers["access-control-allow-origin"] == "*"
    assert resp.headers["access-control-allow-headers"] == "Authorization"


async def test_a_rejection_still_carries_the_cors_header(client):
    resp = await client.get("/streams", headers={"Origin": "http://ui"})
    assert_401(resp, "missing_token")
    assert resp.headers["access-control-allow-origin"] == "*"


async def test_authentication_is_off_by_default(engine):
    app = create_app(engine)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test") as c:
        resp = await c.get("/streams")
    assert resp.status_code == 200
