"""Fixtures that start real services on free loopback ports, and that hand out such ports
(`free_port`, `closed_port`) to the tests of every directory.

A missing service binary fails the tests that need it (it is never a skip): `.ci/run`
installs the Debian packages (`redis-server`, …).
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from arrokoth.config import Config
from arrokoth.engine import Engine
from arrokoth.store import open_store

SERVICE_START_TIMEOUT = 10.0


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="session")
def free_port() -> Callable[[], int]:
    """`free_port()`: a loopback port that was free a moment ago (picked anew at each call)."""
    return _free_port


@pytest.fixture
def anyio_backend() -> str:
    """The anyio tests run on asyncio."""
    return "asyncio"


@pytest.fixture
async def engine(tmp_path: Path):
    """An opened Engine on an in-memory store, its HTTP listener on an OS-chosen loopback port."""
    eng = Engine(Config({"basic": {"httpServerIp": "127.0.0.1", "httpServerPort": 0}}, data_dir=tmp_path),
                 open_store("sqlite::memory:"))
    await eng.open()
    yield eng
    await eng.close()


@pytest.fixture
def closed_port() -> int:
    """A loopback port nothing listens on (free a moment ago): connections to it are refused."""
    return _free_port()


def _redis_ping(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=1.0) as s:
            s.sendall(b"PING\r\n")
            # a server with --requirepass answers NOAUTH: it is up all the same
            return s.recv(64).startswith((b"+PONG", b"-NOAUTH"))
    except OSError:
        return False


@dataclass(frozen=True)
class RedisServer:
    host: str
    port: int

    def url(self, db: int = 0) -> str:
        return f"redis://{self.host}:{self.port}/{db}"


@pytest.fixture(scope="session")
def redis_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RedisServer]:
    """A throwaway redis-server (no persistence) on a free loopback port."""
    binary = shutil.which("redis-server")
    if binary is None:
        pytest.fail("redis-server is not installed: apt-get install -y redis-server (.ci/run does this)")
    workdir = tmp_path_factory.mktemp("redis")
    port = _free_port()
    log_path = workdir / "redis.log"
    cmd = [
        binary,
        "--port",
        str(port),
        "--bind",
        "127.0.0.1",
        "--save",
        "",
        "--appendonly",
        "no",
        "--dir",
        str(workdir),
        "--daemonize",
        "no",
    ]
    with open(log_path, "wb") as log, subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT) as proc:
        try:
            _wait_until_ready(proc, port, log_path)
            yield RedisServer("127.0.0.1", port)
        finally:
            proc.kill()
            proc.wait()


class RedisProcess:
    """A redis-server of one test on a free loopback port; `stop()` kills it and `start()`
    brings it back on the same port, for outage tests. `args` are added to its command line
    (for instance "--requirepass", "secret")."""

    def __init__(self, workdir: Path, args: tuple[str, ...] = ()):
        binary = shutil.which("redis-server")
        if binary is None:
            pytest.fail("redis-server is not installed: apt-get install -y redis-server (.ci/run does this)")
        self.host = "127.0.0.1"
        self.port = _free_port()
        self.workdir = workdir
        self.log_path = workdir / "redis.log"
        self.cmd = [binary, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
                    "--dir", str(workdir), "--daemonize", "no", *args]
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def address(self) -> str:
        return f"{self.host}:{self.port}"

    def start(self) -> None:
        with open(self.log_path, "ab") as log:
            self.proc = subprocess.Popen(self.cmd, stdout=log, stderr=subprocess.STDOUT)
        try:
            _wait_until_ready(self.proc, self.port, self.log_path)
        except BaseException:
            self.stop()
            raise

    def stop(self) -> None:
        if self.proc is not None:
            self.proc.kill()
            self.proc.wait()
            self.proc = None


@pytest.fixture
def redis_factory(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Callable[..., RedisProcess]]:
    """`redis_factory(*args)`: a started redis-server of this test's own (passwords, outages)."""
    servers: list[RedisProcess] = []

    def make(*args: str) -> RedisProcess:
        server = RedisProcess(tmp_path_factory.mktemp("redis"), args)
        servers.append(server)
        server.start()
        return server

    try:
        yield make
    finally:
        for server in servers:
            server.stop()


def _wait_until_ready(proc: subprocess.Popen[bytes], port: int, log_path: Path) -> None:
    deadline = time.monotonic() + SERVICE_START_TIMEOUT
    while not _redis_ping(port):
        try:
            # waiting on the process doubles as the pause between pings, and notices a crash at once
            code = proc.wait(timeout=0.05)
        except subprocess.TimeoutExpired:
            if time.monotonic() > deadline:
                pytest.fail(
                    f"redis-server did not answer PING on port {port} within {SERVICE_START_TIMEOUT}s"
                )
            continue
        pytest.fail(f"redis-server exited with {code}:\n{log_path.read_text(errors='replace')}")


# --- mosquitto -------------------------------------------------------------------------------


class Mosquitto:
    """A mosquitto broker on a free loopback port; `conf` lines are added to its config file.

    `stop()` kills it and `start()` brings it back on the same port, for reconnect tests.
    """

    def __init__(self, workdir: Path, conf: tuple[str, ...] = (), port: int | None = None):
        binary = shutil.which("mosquitto") or next(
            (p for p in ("/usr/sbin/mosquitto", "/usr/local/sbin/mosquitto") if Path(p).exists()), None
        )
        if binary is None:
            pytest.fail("mosquitto is not installed: apt-get install -y mosquitto (.ci/run does this)")
        self.binary = binary
        self.workdir = workdir
        self.host = "127.0.0.1"
        self.port = port or _free_port()
        self.conf_path = workdir / "mosquitto.conf"
        self.log_path = workdir / "mosquitto.log"
        self.conf_path.write_text(
            "\n".join([f"listener {self.port} 127.0.0.1", "persistence false", "log_dest stderr",
                       # as root, mosquitto would switch to the mosquitto user, who cannot read
                       # the password and certificate files in pytest's private temp dirs
                       *(["user root"] if os.geteuid() == 0 else []),
                       "log_type error", "log_type warning", *conf,
                       *([] if any(c.startswith("allow_anonymous") for c in conf) else ["allow_anonymous true"])])
            + "\n"
        )
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"tcp://{self.host}:{self.port}"

    def start(self) -> None:
        with open(self.log_path, "ab") as log:
            self.proc = subprocess.Popen([self.binary, "-c", str(self.conf_path)], stdout=log,
                                         stderr=subprocess.STDOUT)
        deadline = time.monotonic() + SERVICE_START_TIMEOUT
        while not _accepts(self.port):
            try:
                code = self.proc.wait(timeout=0.05)
            except subprocess.TimeoutExpired:
                if time.monotonic() > deadline:
                    self.stop()
                    pytest.fail(f"mosquitto did not listen on port {self.port} within {SERVICE_START_TIMEOUT}s")
                continue
            pytest.fail(f"mosquitto exited with {code}:\n{self.log_path.read_text(errors='replace')}")

    def stop(self) -> None:
        if self.proc is not None:
            self.proc.kill()
            self.proc.wait()
            self.proc = None


def _accepts(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=1.0):
            return True
    except OSError:
        return False


@pytest.fixture(scope="session")
def mosquitto(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Mosquitto]:
    """A shared anonymous mosquitto; tests use topics of their own."""
    broker = Mosquitto(tmp_path_factory.mktemp("mosquitto"))
    broker.start()
    try:
        yield broker
    finally:
        broker.stop()


@pytest.fixture
def mosquitto_factory(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Callable[..., Mosquitto]]:
    """`mosquitto_factory(*conf_lines)`: a started broker of this test's own (auth, TLS, restarts)."""
    brokers: list[Mosquitto] = []

    def make(*conf: str) -> Mosquitto:
        broker = Mosquitto(tmp_path_factory.mktemp("mosquitto"), conf)
        brokers.append(broker)
        broker.start()
        return broker

    try:
        yield make
    finally:
        for broker in brokers:
            broker.stop()


@dataclass(frozen=True)
class TlsCerts:
    """PEM files of a test CA, a server certificate for 127.0.0.1 and a client certificate."""

    ca: Path
    server_cert: Path
    server_key: Path
    client_cert: Path
    client_key: Path
    other_ca: Path  # a CA that signed none of them


@pytest.fixture(scope="session")
def tls_certs(tmp_path_factory: pytest.TempPathFactory) -> TlsCerts:
    """A test CA with server and client certificates signed by it (see TlsCerts), made once."""
    import datetime
    import ipaddress

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

    directory = tmp_path_factory.mktemp("tls")
    now = datetime.datetime.now(datetime.UTC)

    def name(cn: str) -> x509.Name:
        return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)])

    def write(stem: str, cert: x509.Certificate, key: ec.EllipticCurvePrivateKey) -> tuple[Path, Path]:
        cert_path, key_path = directory / f"{stem}.pem", directory / f"{stem}.key"
        cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
        key_path.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                               serialization.NoEncryption()))
        return cert_path, key_path

    def ca(cn: str) -> tuple[x509.Certificate, ec.EllipticCurvePrivateKey]:
        key = ec.generate_private_key(ec.SECP256R1())
        cert = (
            x509.CertificateBuilder().subject_name(name(cn)).issuer_name(name(cn)).public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(minutes=5)).not_valid_after(now + datetime.timedelta(days=1))
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .add_extension(x509.KeyUsage(digital_signature=True, content_commitment=False, key_encipherment=False,
                                         data_encipherment=False, key_agreement=False, key_cert_sign=True,
                                         crl_sign=True, encipher_only=False, decipher_only=False), critical=True)
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
            .sign(key, hashes.SHA256())
        )
        return cert, key

    def leaf(cn: str, issuer: tuple[x509.Certificate, ec.EllipticCurvePrivateKey], server: bool):
        key = ec.generate_private_key(ec.SECP256R1())
        builder = (
            x509.CertificateBuilder().subject_name(name(cn)).issuer_name(issuer[0].subject)
            .public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(minutes=5)).not_valid_after(now + datetime.timedelta(days=1))
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH if server
                                                  else ExtendedKeyUsageOID.CLIENT_AUTH]), critical=False)
            .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(issuer[1].public_key()),
                           critical=False)
        )
        if server:
            builder = builder.add_extension(
                x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1")),
                                             x509.DNSName("localhost")]), critical=False)
        return builder.sign(issuer[1], hashes.SHA256()), key

    root = ca("arrokoth test CA")
    other = ca("some other CA")
    ca_path, _ = write("ca", *root)
    other_path, _ = write("other-ca", *other)
    server_cert, server_key = write("server", *leaf("127.0.0.1", root, server=True))
    client_cert, client_key = write("client", *leaf("arrokoth client", root, server=False))
    return TlsCerts(ca_path, server_cert, server_key, client_cert, client_key, other_path)
