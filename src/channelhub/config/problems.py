"""Collecting config problems as `file: where: what`, with pydantic's errors turned into those words."""

from __future__ import annotations

import difflib
import re
import tomllib
from collections.abc import Mapping
from typing import Any

from pydantic import BaseModel, ValidationError

from channelhub.redact import redact


class Problems:
    """Collects problems as `file: where: what`, masking any secret already known."""

    def __init__(self, file: str) -> None:
        self.file = file
        self.items: list[str] = []
        self.secrets: set[str] = set()

    def add(self, where: str, what: str) -> None:
        what = redact(what, self.secrets)
        self.items.append(f"{self.file}: {where}: {what}" if where else f"{self.file}: {what}")

    def add_validation(self, exc: ValidationError, prefix: str, model: type[BaseModel], labels: Any = None) -> None:
        for error in exc.errors():
            loc = list(error["loc"])
            where = _dotted(prefix, loc, labels)
            self.add(where, _message(error, model, loc))


def toml_problem(file: str, exc: tomllib.TOMLDecodeError) -> str:
    message = str(exc)
    match = re.search(r"\(at line (\d+), column (\d+)\)", message)
    if match:
        reason = message[: match.start()].strip()
        return f"{file}: line {match.group(1)}: invalid TOML ({reason} at column {match.group(2)})"
    return f"{file}: invalid TOML ({message})"


def labels_of(document: Mapping[str, Any]) -> dict[str, list[str]]:
    """For each array of tables, how to name item i in a message: by its name/code when it has one."""
    out: dict[str, list[str]] = {}
    for array, key in (("channels", "name"), ("locations", "code")):
        items = document.get(array)
        if isinstance(items, list):
            out[array] = [
                str(item[key]) if isinstance(item, dict) and isinstance(item.get(key), str) and item[key] else str(i)
                for i, item in enumerate(items)
            ]
    return out


def _dotted(prefix: str, loc: list[Any], labels: Mapping[str, list[str]] | None) -> str:
    parts: list[str] = [prefix] if prefix else []
    previous: Any = None
    for item in loc:
        if isinstance(item, int):
            names = (labels or {}).get(previous) if isinstance(previous, str) else None
            label = names[item] if names and item < len(names) else str(item)
            if parts:
                parts[-1] = f"{parts[-1]}[{label}]"
            else:
                parts.append(f"[{label}]")
        else:
            parts.append(str(item))
        previous = item
    return ".".join(parts)


def _message(error: Mapping[str, Any], model: type[BaseModel], loc: list[Any]) -> str:
    kind = error["type"]
    if kind == "missing":
        return "field required"
    if kind == "extra_forbidden":
        known = _known_keys(model, loc[:-1])
        unknown = str(loc[-1]) if loc else "?"
        guess = difflib.get_close_matches(unknown, known, n=1)
        hint = f" (did you mean {guess[0]!r}?)" if guess else (f" (known keys: {', '.join(known)})" if known else "")
        return f"unknown key{hint}"
    message = str(error["msg"]).removeprefix("Value error, ")
    return message[:1].lower() + message[1:]


def _known_keys(model: type[BaseModel], loc: list[Any]) -> list[str]:
    """The keys the model accepts at `loc` (following nested models; indexes are skipped)."""
    current: Any = model
    for item in loc:
        if isinstance(item, int):
            continue
        if not (isinstance(current, type) and issubclass(current, BaseModel)):
            return []
        field = _field_by_key(current, str(item))
        if field is None:
            return []
        current = _model_in(field.annotation)
    if not (isinstance(current, type) and issubclass(current, BaseModel)):
        return []
    return sorted(f.alias or name for name, f in current.model_fields.items())


def _field_by_key(model: type[BaseModel], key: str) -> Any:
    for name, field in model.model_fields.items():
        if key in (name, field.alias):
            return field
    return None


def _model_in(annotation: Any) -> Any:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    for arg in getattr(annotation, "__args__", ()) or ():
        found = _model_in(arg)
        if found is not None:
            return found
    return None
