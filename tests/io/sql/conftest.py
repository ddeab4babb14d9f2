"""Database servers for the sql connector tests: PostgreSQL and MariaDB from the Debian
binaries, each started once per session on a free loopback port with a user that has a
password, plus SQLite files. A missing binary fails the tests that need it (never a skip):
`scripts/test` and `.ci/run` install postgresql and mariadb-server.

As root (CI), PostgreSQL refuses to run, so initdb and postgres run as the `postgres`
system user and mariadbd with --user=mysql, in a temporary directory they own. Everything
lives under that directory (data, socket, pid file) and is removed at the end.
"""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import signal
import subprocess
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

START_TIMEOUT = 60.0
USER = "arrokoth"
PASSWORD = "s3cret:pw@1"  # characters a URL must escape, on purpose
DATABASE = "arrokoth"


def _as_user(name: str) -> dict[str, Any]:
    """Popen arguments that run a program as the system user `name` when we are root."""
    if os.geteuid() != 0:
        return {}
    pw = pwd.getpwnam(name)
    return {"user": pw.pw_uid, "group": pw.pw_gid, "extra_groups": [], "env": {**os.environ, "HOME": pw.pw_dir}}


def _chown_tree(path: Path, name: str) -> None:
    if os.geteuid() != 0:
        return
    pw = pwd.getpwnam(name)
    for root, dirs, files in os.walk(path):
        os.chown(root, pw.pw_uid, pw.pw_gid)
        for f in dirs + files:
            os.chown(os.path.join(root, f), pw.pw_uid, pw.pw_gid)


def _workdir(prefix: str) -> Path:
    # not pytest's tmp dirs: those sit in a root-only directory the service users cannot enter
    return Path(tempfile.mkdtemp(prefix=prefix, dir="/tmp"))


def _url_password() -> str:
    from urllib.parse import quote

    return quote(PASSWORD, safe="")


@dataclass
class DbServer:
    """A running database server; `url()` gives eKuiper-style URLs for the code under test."""

    family: str  # "postgres" or "mysql"
    port: int
    workdir: Path
    proc: subprocess.Popen | None = None
    log_path: Path | None = None
    _engine: Any = field(default=None, repr=False)

    host = "127.0.0.1"

    def url(self, *, user: str = USER, password: str | None = None, database: str = DATABASE,
            port: int | None = None) -> str:
        pw = _url_password() if password is None else password
        scheme = "postgres" if self.family == "postgres" else "mysql"
        query = "?sslmode=disable" if self.family == "postgres" else "?parseTime=true"
        return f"{scheme}://{user}:{pw}@{self.host}:{port or self.port}/{database}{query}"

    def engine(self) -> Any:
        """An engine for the tests' own setup and checks (independent of the code under test)."""
        if self._engine is None:
            import sqlalchemy as sa

            driver = "postgresql+psycopg" if self.family == "postgres" else "mysql+pymysql"
            url = sa.URL.create(driver, username=USER, password=PASSWORD, host=self.host, port=self.port,
                                database=DATABASE)
            self._engine = sa.create_engine(url, poolclass=sa.pool.NullPool)
        return self._engine


def _postgres_bin() -> Path:
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/postgres"))
    if not found:
        pytest.fail("PostgreSQL is not installed: apt-get install -y postgresql (scripts/test and .ci/run do this)")
    return Path(found[-1]).parent


def _wait(proc: subprocess.Popen, ready, what: str, log_path: Path) -> None:
    deadline = time.monotonic() + START_TIMEOUT
    while True:
        if ready():
            return
        try:
            code = proc.wait(timeout=0.1)
        except subprocess.TimeoutExpired:
            if time.monotonic() > deadline:
                pytest.fail(f"{what} did not become ready within {START_TIMEOUT}s:\n"
                            f"{log_path.read_text(errors='replace')[-3000:]}")
            continue
        pytest.fail(f"{what} exited with {code}:\n{log_path.read_text(errors='replace')[-3000:]}")


def _stop(proc: subprocess.Popen, sig: int) -> None:
    if proc.poll() is None:
        proc.send_signal(sig)
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


@pytest.fixture(scope="session")
def postgres_server(free_port: Callable[[], int]) -> Iterator[DbServer]:
    """PostgreSQL on a free loopback port; user arrokoth (scram password), database arrokoth."""
    bindir = _postgres_bin()
    work = _workdir("arrokoth-pg-")
    data, pwfile, log_path = work / "data", work / "pwfile", work / "postgres.log"
    pwfile.write_text(PASSWORD + "\n")
    _chown_tree(work, "postgres")
    as_pg = _as_user("postgres")
    try:
        init = subprocess.run(
            [str(bindir / "initdb"), "-D", str(data), "-U", USER, f"--pwfile={pwfile}", "--auth=scram-sha-256",
             "-E", "UTF8", "--locale=C", "-N"],
            capture_output=True, text=True, cwd=work, **as_pg)
        if init.returncode != 0:
            pytest.fail(f"initdb failed ({init.returncode}):\n{init.stdout}\n{init.stderr}")
        port = free_port()
        with open(log_path, "wb") as log:
            proc = subprocess.Popen(
                [str(bindir / "postgres"), "-D", str(data), "-p", str(port), "-k", str(work),
                 "-c", "listen_addresses=127.0.0.1", "-c", "fsync=off", "-c", "synchronous_commit=off",
                 "-c", "full_page_writes=off", "-c", "max_connections=50"],
                stdout=log, stderr=subprocess.STDOUT, cwd=work, **as_pg)
        server = DbServer("postgres", port, work, proc, log_path)
        try:
            _wait(proc, lambda: _pg_create_db(port), "postgres", log_path)
            yield server
        finally:
            if server._engine is not None:
                server._engine.dispose()
            _stop(proc, signal.SIGINT)  # a fast shutdown: clients are disconnected
    finally:
        shutil.rmtree(work, ignore_errors=True)


def _pg_create_db(port: int) -> bool:
    import psycopg

    try:
        with psycopg.connect(host="127.0.0.1", port=port, user=USER, password=PASSWORD, dbname="postgres",
                             autocommit=True, connect_timeout=2) as conn:
            conn.execute(f"CREATE DATABASE {DATABASE}")
        return True
    except psycopg.OperationalError:
        return False


@pytest.fixture(scope="session")
def mariadb_server(free_port: Callable[[], int]) -> Iterator[DbServer]:
    """MariaDB on a free loopback port; user arrokoth with a password, database arrokoth."""
    mariadbd = shutil.which("mariadbd") or ("/usr/sbin/mariadbd" if Path("/usr/sbin/mariadbd").exists() else None)
    install = shutil.which("mariadb-install-db")
    if mariadbd is None or install is None:
        pytest.fail("MariaDB is not installed: apt-get install -y mariadb-server (scripts/test and .ci/run do this)")
    work = _workdir("arrokoth-maria-")
    data, log_path, init_sql = work / "data", work / "mariadb.log", work / "init.sql"
    root = os.geteuid() == 0
    user_args = ["--user=mysql"] if root else []
    # the user with a password, created at start with the server's own privileges
    init_sql.write_text(
        f"CREATE USER IF NOT EXISTS '{USER}'@'%' IDENTIFIED BY '{PASSWORD}';\n"
        f"GRANT ALL PRIVILEGES ON *.* TO '{USER}'@'%';\n"
        f"CREATE DATABASE IF NOT EXISTS {DATABASE};\n"
        "FLUSH PRIVILEGES;\n"
    )
    if root:
        _chown_tree(work, "mysql")
    try:
        init = subprocess.run(
            [install, "--no-defaults", f"--datadir={data}", *user_args, "--skip-test-db",
             "--auth-root-authentication-method=socket", "--skip-name-resolve"],
            capture_output=True, text=True, cwd=work)
        if init.returncode != 0:
            pytest.fail(f"mariadb-install-db failed ({init.returncode}):\n{init.stdout}\n{init.stderr}")
        port = free_port()
        with open(log_path, "wb") as log:
            proc = subprocess.Popen(
                [mariadbd, "--no-defaults", f"--datadir={data}", f"--socket={work / 'mysqld.sock'}",
                 f"--pid-file={work / 'mysqld.pid'}", f"--port={port}", "--bind-address=127.0.0.1",
                 *user_args, f"--init-file={init_sql}", "--skip-name-resolve", "--skip-log-bin",
                 "--innodb-buffer-pool-size=32M", "--innodb-flush-log-at-trx-commit=0",
                 f"--log-error={log_path}"],
                stdout=log, stderr=subprocess.STDOUT, cwd=work)
        server = DbServer("mysql", port, work, proc, log_path)
        try:
            _wait(proc, lambda: _maria_ready(port), "mariadbd", log_path)
            yield server
        finally:
            if server._engine is not None:
                server._engine.dispose()
            _stop(proc, signal.SIGTERM)
    finally:
        shutil.rmtree(work, ignore_errors=True)


def _maria_ready(port: int) -> bool:
    import pymysql

    try:
        conn = pymysql.connect(host="127.0.0.1", port=port, user=USER, password=PASSWORD, database=DATABASE,
                               connect_timeout=2)
    except pymysql.err.OperationalError:
        return False
    conn.close()
    return True


# --- one database of each kind, for parametrized tests --------------------------------------


class Db:
    """A database under test: its eKuiper url, and SQL for setting up and checking tables."""

    def __init__(self, kind: str, url: str, engine: Any, server: DbServer | None = None):
        self.kind = kind  # sqlite, postgres, mariadb
        self.url = url
        self._engine = engine
        self.server = server

    @property
    def datetime_type(self) -> str:
        return "DATETIME" if self.kind == "mariadb" else "TIMESTAMP"

    def table(self, stem: str = "t") -> str:
        """A table name of this test's own (the servers are shared by the session)."""
        return f"{stem}_{uuid.uuid4().hex[:10]}"

    def execute(self, *statements: str, params: Any = None) -> None:
        import sqlalchemy as sa

        with self._engine.begin() as conn:
            for sql in statements:
                conn.execute(sa.text(sql), params or {})

    def rows(self, sql: str) -> list[tuple]:
        import sqlalchemy as sa

        with self._engine.connect() as conn:
            return [tuple(r) for r in conn.execute(sa.text(sql))]


DB_KINDS = ["sqlite", "postgres", "mariadb"]


@pytest.fixture
def sqlite_db(tmp_path: Path) -> Iterator[Db]:
    import sqlalchemy as sa

    path = tmp_path / "test.db"
    engine = sa.create_engine(f"sqlite:///{path}", poolclass=sa.pool.NullPool)
    try:
        yield Db("sqlite", f"sqlite:{path}", engine)
    finally:
        engine.dispose()


@pytest.fixture(params=DB_KINDS)
def db(request: pytest.FixtureRequest) -> Db:
    """Each kind of database in turn (the servers start on first use)."""
    if request.param == "sqlite":
        return request.getfixturevalue("sqlite_db")
    server: DbServer = request.getfixturevalue("postgres_server" if request.param == "postgres" else "mariadb_server")
    return Db(request.param, server.url(), server.engine(), server)

