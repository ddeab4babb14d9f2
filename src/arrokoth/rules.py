"""Rule definitions (the rule JSON of eKuiper's REST API) and what a rule's run reports.

`RuleDef.parse` reads a rule JSON body the way Go's encoding/json does (keys matched
case-insensitively, unknown keys ignored) and applies eKuiper's checks and messages.
`rule_status` and `rule_topo` name the nodes and metrics as eKuiper does.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from arrokoth.functions import jsonvalue

ID_RE = re.compile(r"^[a-zA-Z0-9_\-]+$")


class RuleDefError(Exception):
    pass


def validate_id(value: Any) -> str:
    """eKuiper's id rule for streams, rules, connections, confKeys and plugins."""
    if not isinstance(value, str) or value == "":
        raise RuleDefError("id cannot be empty")
    if value != value.strip():
        raise RuleDefError(f"id '{value}' contains leading or trailing whitespace")
    if not ID_RE.match(value):
        raise RuleDefError(
            f"id '{value}' contains invalid characters: only alphanumeric, hyphens and underscores are allowed"
        )
    return value


def _field(obj: dict, name: str, default: Any = None) -> Any:
    if name in obj:
        return obj[name]
    lname = name.lower()
    for k, v in obj.items():
        if isinstance(k, str) and k.lower() == lname:
            return v
    return default


@dataclass
class RuleDef:
    id: str
    sql: str = ""
    actions: list[dict] = field(default_factory=list)
    options: dict = field(default_factory=dict)
    name: str = ""
    tags: list[str] | None = None
    triggered: bool = True
    temp: bool = False
    version: str = ""
    graph: dict | None = None
    text: str = ""  # the JSON as submitted, returned by GET /rules/{id}

    @classmethod
    def parse(cls, body: str | bytes | dict, *, path_id: str | None = None) -> RuleDef:
        if isinstance(body, dict):
            obj = body
            text = jsonvalue.dumps(body)
        else:
            text = body.decode() if isinstance(body, bytes) else body
            try:
                obj = jsonvalue.loads(text)
            except jsonvalue.DecodeError as e:
                raise RuleDefError(f"Parse rule {text[:80]} error : {e}") from None
        if not isinstance(obj, dict):
            raise RuleDefError("Parse rule error : the rule must be a JSON object")
        rule_id = _field(obj, "id")
        if path_id is not None and rule_id in (None, ""):
            rule_id = path_id
        if rule_id in (None, ""):
            raise RuleDefError("Missing rule id.")
        if not isinstance(rule_id, str):
            raise RuleDefError("Parse rule error : id must be a string")
        validate_id(rule_id)
        if path_id is not None and rule_id != path_id:
            raise RuleDefError("RuleId is not consistent with rule id.")
        sql = _field(obj, "sql", "")
        graph = _field(obj, "graph")
        if not isinstance(sql, str):
            raise RuleDefError("Parse rule error : sql must be a string")
        if sql and graph:
            raise RuleDefError(f"Rule {rule_id} has both sql and graph.")
        if not sql and not graph:
            raise RuleDefError(f"Rule {rule_id} has neither sql nor graph.")
        if graph:
            raise RuleDefError(f"Rule {rule_id} uses a graph; graph rules are not supported yet.")
        actions = _field(obj, "actions")
        if not actions:
            raise RuleDefError("Missing rule actions.")
        if not isinstance(actions, list) or not all(
            isinstance(a, dict) and len(a) == 1 and isinstance(next(iter(a.values())), dict) for a in actions
        ):
            raise RuleDefError("Parse rule error : each action must be an object of one sink type to its properties")
        options = _field(obj, "options")
        if options is None:  # Go leaves the struct at its defaults for a missing key or null
            options = {}
        if not isinstance(options, dict):
            raise RuleDefError("Parse rule error : options must be an object")
        tags = _field(obj, "tags")
        if tags is not None and not (isinstance(tags, list) and all(isinstance(t, str) for t in tags)):
            raise RuleDefError("Parse rule error : tags must be a list of strings")
        triggered = _field(obj, "triggered", True)
        temp = _field(obj, "temp", False)
        version = _field(obj, "version", "")
        name = _field(obj, "name", "")
        for key, value, typ in (("triggered", triggered, bool), ("temp", temp, bool), ("version", version, str), ("name", name, str)):
            if not isinstance(value, typ):
                raise RuleDefError(f"Parse rule error : {key} must be a {typ.__name__}")
        return cls(
            id=rule_id, sql=sql, actions=actions, options=options, name=name, tags=tags,
            triggered=triggered, temp=temp, version=version, text=text,
        )

    def to_json(self) -> str:
        """The stored form after the server changes it (start/stop/tags): sorted keys."""
        obj: dict[str, Any] = {"actions": self.actions, "id": self.id, "sql": self.sql, "triggered": self.triggered}
        if self.name:
            obj["name"] = self.name
        if self.options:
            obj["options"] = self.options
        if self.tags is not None:
            obj["tags"] = self.tags
        if self.version:
            obj["version"] = self.version
        if self.temp:
            obj["temp"] = True
        return jsonvalue.dumps(obj)

    def touch(self) -> None:
        """Re-marshal the stored text after a server-side change."""
        self.text = self.to_json()


def check_version(existing: RuleDef | None, new: RuleDef) -> None:
    """Versions compare as strings; a versioned rule rejects a lower or missing version."""
    if existing is None:
        return
    if existing.version == "" and new.version == "":
        return
    if not new.version > existing.version:
        raise RuleDefError(
            f"rule {new.id} already exists with version ({existing.version}), new version ({new.version}) is lower"
        )


# --- status and topology ----------------------------------------------------------

NODE_METRICS = (
    "records_in_total", "records_out_total", "messages_processed_total", "process_latency_us",
    "buffer_length", "last_invocation", "exceptions_total", "last_exception", "last_exception_time",
)
CONNECTION_METRICS = (
    "connection_status", "connection_last_connected_time", "connection_last_disconnected_time",
    "connection_last_disconnected_message", "connection_last_try_time",
)


def format_status(header: dict, metrics: dict) -> str:
    """GET /rules/{id}/status: the five header keys first, 2-space indent."""
    obj = dict(header)
    obj.update(metrics)
    lines = ["{"]
    items = list(obj.items())
    for i, (k, v) in enumerate(items):
        sep = "," if i < len(items) - 1 else ""
        lines.append(f"  {jsonvalue.dumps(k)}: {jsonvalue.dumps(v)}{sep}")
    lines.append("}")
    return "\n".join(lines)
