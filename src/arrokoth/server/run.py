"""`arrokoth serve`: open the store, restore the rules, serve the REST API until signalled."""

from __future__ import annotations

import asyncio
import logging
import signal
from pathlib import Path

from arrokoth.config import Config


def _store_spec(config: Config) -> str:
    if config.get("store.type") == "redis":
        return config.get("store.redisUrl")
    return "sqlite"


async def serve(config: Config, *, host: str | None = None, port: int | None = None) -> None:
    import uvicorn

    from arrokoth.engine import Engine
    from arrokoth.functions import timefmt
    from arrokoth.server.app import create_app
    from arrokoth.store import open_store

    host = host or config.get("basic.restIp")
    port = port if port is not None else config.get("basic.restPort")
    Path(config.data_dir).mkdir(parents=True, exist_ok=True)
    if config.get("basic.timezone"):
        timefmt.set_default_timezone(config.get("basic.timezone"))
    store = open_store(_store_spec(config), config.data_dir)
    engine = Engine(config, store)
    server: uvicorn.Server | None = None

    def request_shutdown() -> None:
        if server is not None:
            server.should_exit = True

    auth = None
    if config.get("basic.authentication"):
        from arrokoth.server.auth import jwt_middleware

        # eKuiper keeps the keys in <base>/etc/mgmt; ours live under the data directory
        key_dir = Path(config.data_dir) / "etc" / "mgmt"
        logging.getLogger("arrokoth").info("JWT authentication on; public keys in %s", key_dir)
        auth = jwt_middleware(key_dir)
    app = create_app(engine, request_shutdown=request_shutdown, auth=auth)
    await engine.open()
    uv_config = uvicorn.Config(
        app, host=host, port=port, log_level=config.get("basic.logLevel"), lifespan="off",
        access_log=False, timeout_keep_alive=0,
    )
    server = uvicorn.Server(uv_config)
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        # a clean stop: the server drains, then the engine stops its rules and closes the store
        loop.add_signal_handler(sig, request_shutdown)
    logging.getLogger("arrokoth").info("serving the REST API on %s:%s", host, port)
    try:
        await server.serve()
    finally:
        await engine.close()


def run(config: Config, *, host: str | None = None, port: int | None = None) -> None:
    logging.basicConfig(level=config.get("basic.logLevel").upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    asyncio.run(serve(config, host=host, port=port))
