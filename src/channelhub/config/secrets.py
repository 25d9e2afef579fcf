"""Secrets in the config: `${NAME}` from the environment and `X_file` read from disk."""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any

from pydantic import BaseModel

from channelhub.config.problems import Problems, labels_of

_VARIABLE = re.compile(r"\$\$\{|\$\{([^}]*)\}")
_VARIABLE_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


def expand_variables(value: str, where: str, problems: Problems) -> str:
    """`value` with each `${NAME}` replaced from the environment; unset names are added to `problems`."""

    def replace(match: re.Match[str]) -> str:
        if match.group(0) == "$${":
            return "${"
        name = match.group(1).strip()
        if not _VARIABLE_NAME.match(name):
            problems.add(where, f"invalid environment variable reference ${{{match.group(1)}}}")
            return ""
        if name not in os.environ:
            problems.add(where, f"environment variable {name} is not set")
            return ""
        secret = os.environ[name]
        problems.secrets.add(secret)
        return secret

    return _VARIABLE.sub(replace, value)


def expand_tree(value: Any, where: str, problems: Problems) -> Any:
    """A copy of `value` with every string expanded (`where` names the key in problems)."""
    if isinstance(value, str):
        return expand_variables(value, where, problems)
    if isinstance(value, dict):
        return {k: expand_tree(v, f"{where}.{k}" if where else k, problems) for k, v in value.items()}
    if isinstance(value, list):
        return [expand_tree(v, f"{where}[{i}]", problems) for i, v in enumerate(value)]
    return value


def expand_document(document: dict[str, Any], problems: Problems) -> dict[str, Any]:
    """Expand `${NAME}` everywhere except channel settings, which are expanded against their connector."""
    labels = labels_of(document)
    out: dict[str, Any] = {}
    for key, value in document.items():
        if key == "channels" and isinstance(value, list):
            channels = []
            for i, channel in enumerate(value):
                label = f"channels[{labels['channels'][i]}]"
                if isinstance(channel, dict):
                    channels.append(
                        {
                            k: v if k == "settings" else expand_tree(v, f"{label}.{k}", problems)
                            for k, v in channel.items()
                        }
                    )
                else:
                    channels.append(channel)
            out[key] = channels
        else:
            out[key] = expand_tree(value, key, problems)
    return out


def resolve_settings(
    raw: dict[str, Any], model: type[BaseModel], where: str, base_dir: Path, problems: Problems
) -> dict[str, Any]:
    """Expand `${NAME}` in the settings and turn `X_file` into the secret `X` (or a resolved path)."""
    expanded = expand_tree(raw, where, problems)
    fields = {key for name, field in model.model_fields.items() for key in (name, field.alias) if key}
    out: dict[str, Any] = {}
    for key, value in expanded.items():
        if not (key.endswith("_file") and len(key) > len("_file")):
            out[key] = value
            continue
        stem = key.removesuffix("_file")
        if not isinstance(value, str) or not value:
            problems.add(f"{where}.{key}", "must be a file path")
            continue
        path = (base_dir / Path(value).expanduser()).resolve()  # an absolute path stays as it is
        if stem not in fields:
            out[key] = str(path)  # the connector takes the path itself (a key file), or rejects the key
            continue
        if stem in expanded:
            problems.add(f"{where}.{key}", f"set {stem} or {key}, not both")
            continue
        try:
            secret = path.read_text(encoding="utf-8").strip()
        except (OSError, UnicodeDecodeError) as exc:
            problems.add(f"{where}.{key}", f"cannot read secret file {path}: {getattr(exc, 'strerror', None) or exc}")
            continue
        if not secret:
            problems.add(f"{where}.{key}", f"secret file {path} is empty")
            continue
        problems.secrets.add(secret)
        out[stem] = secret
    return out
