"""The register of asynchronous imports (`POST /async/data/import`, `GET /async/task/{id}`).

A task is `dataImport-<unix seconds>`, moves register → running → finish | error, or to
cancel when asked; its status lives in the store (namespace ``async_tasks``) so it outlives
a restart, after which a task that was still running reads as cancelled.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from arrokoth.transfer import ImportCancelled, TransferError, go_json, import_source

if TYPE_CHECKING:
    from arrokoth.transfer import DataTransfer

NS_ASYNC_TASKS = "async_tasks"


def _unix() -> int:
    return int(time.time())


@dataclass
class AsyncTask:
    id: str
    status: str
    message: str
    created: int
    updated: int
    cancel: asyncio.Event = field(default_factory=asyncio.Event)
    task: asyncio.Task | None = None

    def to_json(self) -> dict:
        return {"id": self.id, "status": self.status, "message": self.message,
                "createdTimestamp": self.created, "updatedTimestamp": self.updated}


class ImportTasks:
    def __init__(self, transfer: DataTransfer):
        self.transfer = transfer
        self.store = transfer.store
        self.tasks: dict[str, AsyncTask] = {}
        for task_id, saved in self.store.items(NS_ASYNC_TASKS).items():
            if not isinstance(saved, dict):
                continue
            t = AsyncTask(task_id, saved.get("status", ""), saved.get("message", ""),
                          saved.get("createdTimestamp", 0), saved.get("updatedTimestamp", 0))
            self.tasks[task_id] = t
            if t.status in ("register", "running"):  # the process ended while it ran
                self._set_status(t, "cancel")

    def start(
        self, content: Any, file: Any, *, partial: bool, stop: bool, on_success: Callable[[], None] | None = None
    ) -> str:
        """Register `dataImport-<unix seconds>` and run the import as an asyncio task.

        `on_success` runs after a successful full import with `stop` (the shutdown)."""
        task_id = f"dataImport-{_unix()}"
        if task_id in self.tasks:
            # eKuiper's register refuses an id in use, with this (odd) wording
            raise TransferError(f"async task: {task_id} not found")
        now = _unix()
        t = AsyncTask(task_id, "register", "", now, now)
        self.tasks[task_id] = t
        self._set_status(t, "register")
        t.task = asyncio.get_running_loop().create_task(self._run(t, content, file, partial, stop, on_success))
        return task_id

    async def _run(self, t: AsyncTask, content: Any, file: Any, partial: bool, stop: bool,
                   on_success: Callable[[], None] | None) -> None:
        if t.cancel.is_set():
            return  # cancelled before it began
        self._set_status(t, "running")
        try:
            data = await import_source(content, file)
            result = await self.transfer.import_document(data, partial=partial, stop=stop, cancel=t.cancel)
        except TransferError as e:
            self._finish(t, "error", f"err:{e.message}, response:null")
            return
        except ImportCancelled:
            return
        body = go_json(result.to_json()).decode()
        if result.error:
            self._finish(t, "error", f"err:{result.error}, response:{body}")
            return
        self._finish(t, "finish", body)
        if stop and not partial and on_success is not None and t.status == "finish":
            on_success()

    def _finish(self, t: AsyncTask, status: str, message: str) -> None:
        if t.status == "cancel":
            return
        t.message = message
        self._set_status(t, status)

    def _set_status(self, t: AsyncTask, status: str) -> None:
        t.status = status
        t.updated = _unix()
        self.store.set(NS_ASYNC_TASKS, t.id, t.to_json())

    def status(self, task_id: str) -> dict:
        t = self.tasks.get(task_id)
        if t is None:
            raise TransferError(f"async task: {task_id} not found")
        return t.to_json()

    def cancel(self, task_id: str) -> None:
        """Mark the task cancelled; a running import stops before its next item."""
        t = self.tasks.get(task_id)
        if t is None:
            raise TransferError(f"async task: {task_id} not found")
        t.cancel.set()
        self._set_status(t, "cancel")

    async def wait(self) -> None:
        """Wait for the running imports to end."""
        pending = [t.task for t in self.tasks.values() if t.task is not None and not t.task.done()]
        if pending:
            await asyncio.gather(*pending, return_exceptions=True)
