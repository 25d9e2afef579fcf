"""Connector discovery: installed entry points and drop-in folders, each class checked against the contract at load.

Where connectors come from, in this order (the first class to claim a kind wins; a later claimant is a problem):

1. the entry point group `channelhub.connectors` (an installed package, the built-in connectors included), each
   entry point naming a Connector class (or a module, scanned like a drop-in file);
2. each drop-in folder, in the order given: every `*.py` file and every package folder (one with `__init__.py`)
   whose name does not start with `_` or `.`, in name order.

A drop-in module is imported under a unique module name derived from its path, so two folders may each hold a
`connector.py`. Every class defined in it (or, for a package, in one of its submodules) that subclasses
`channelhub.ports.Connector` and declares `kind` in its own body is a candidate. A module that fails to import,
or a class that breaks the contract (`validate_connector_class`), is recorded in `Registry.problems` with its
source and reason; every other connector still loads.
"""

from __future__ import annotations

import hashlib
import importlib.util
import inspect
import re
import sys
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path
from types import ModuleType
from typing import Any

from pydantic import BaseModel, ValidationError

from channelhub.errors import ChannelhubError, PluginError
from channelhub.ports import REQUIRED_METHODS, BatchLimits, Capability, Connector, ConnectorContext

ENTRY_POINT_GROUP = "channelhub.connectors"
KIND_PATTERN = re.compile(r"^[a-z][a-z0-9_-]{0,62}$")
_MODULE_PREFIX = "channelhub_plugin_"


@dataclass(frozen=True)
class PluginProblem:
    """A plugin that did not load: `source` is the file, folder or entry point; `reason` says why."""

    source: str
    reason: str

    def __str__(self) -> str:
        return f"{self.source}: {self.reason}"


def validate_connector_class(cls: object) -> list[str]:
    """Every way `cls` breaks the connector contract, in words; an empty list means it keeps it.

    Checks: a Connector subclass; `kind` a lowercase identifier ([a-z][a-z0-9_-]*); `capabilities` a frozenset of
    `Capability`; `config_model` a pydantic BaseModel subclass; `limits` a BatchLimits with positive numbers; and,
    for each declared capability, every method in `ports.REQUIRED_METHODS` overridden (the base class's defaults
    only raise NotImplementedError).
    """
    if not (inspect.isclass(cls) and issubclass(cls, Connector)):
        return [f"{cls!r} is not a subclass of channelhub.ports.Connector"]
    reasons: list[str] = []
    kind = getattr(cls, "kind", None)
    if not isinstance(kind, str) or not KIND_PATTERN.match(kind):
        reasons.append(f"kind must be a lowercase name matching {KIND_PATTERN.pattern}, not {kind!r}")

    capabilities = getattr(cls, "capabilities", None)
    declared: frozenset[Capability] = frozenset()
    if not isinstance(capabilities, frozenset):
        reasons.append(f"capabilities must be a frozenset of channelhub.ports.Capability, not {capabilities!r}")
    else:
        wrong = sorted(repr(c) for c in capabilities if not isinstance(c, Capability))
        if wrong:
            reasons.append(f"capabilities must be channelhub.ports.Capability members, not {', '.join(wrong)}")
        declared = frozenset(c for c in capabilities if isinstance(c, Capability))

    model = getattr(cls, "config_model", None)
    if not (inspect.isclass(model) and issubclass(model, BaseModel)):
        reasons.append(f"config_model must be a pydantic BaseModel subclass, not {model!r}")

    limits = getattr(cls, "limits", None)
    if not isinstance(limits, BatchLimits):
        reasons.append(f"limits must be a channelhub.ports.BatchLimits, not {limits!r}")
    else:
        for name in ("stock_per_call", "fulfillments_per_call"):
            value = getattr(limits, name)
            if not isinstance(value, int) or isinstance(value, bool) or value < 1:
                reasons.append(f"limits.{name} must be a positive integer, not {value!r}")

    for capability in sorted(declared):
        for method in REQUIRED_METHODS.get(capability, ()):
            implementation = getattr(cls, method, None)
            if implementation is None or implementation is getattr(Connector, method):
                reasons.append(f"declares {capability.value} but does not implement {method}()")
            elif not callable(implementation):
                reasons.append(f"{method} must be a method, not {implementation!r}")
    return reasons


@dataclass
class Registry:
    """The connector classes found, by kind, and the plugins that failed to load.

    Entry points are imported when first needed: `get(kind)` loads the entry point named like the kind (the
    convention), and anything that needs them all (`kinds`, `problems`, a kind no entry point is named after)
    loads the rest. A command that uses one kind never imports the others' vendor libraries.
    """

    _kinds: dict[str, type[Connector]] = field(default_factory=dict)
    _sources: dict[str, str] = field(default_factory=dict)
    _problems: list[PluginProblem] = field(default_factory=list)
    _deferred: dict[str, metadata.EntryPoint] = field(default_factory=dict)

    @property
    def kinds(self) -> dict[str, type[Connector]]:
        """Kind -> connector class (a copy); every entry point is loaded first."""
        self._load_all()
        return dict(self._kinds)

    @property
    def problems(self) -> list[PluginProblem]:
        """Every plugin that did not load (every entry point is loaded first, so none is missed)."""
        self._load_all()
        return self._problems

    def get(self, kind: str) -> type[Connector] | None:
        if kind not in self._kinds:
            if kind in self._deferred:
                _load_entry_point(self, self._deferred.pop(kind))
            if kind not in self._kinds:
                self._load_all()  # an entry point named otherwise may provide it
        return self._kinds.get(kind)

    def defer(self, entry_point: metadata.EntryPoint) -> None:
        """Remember an entry point, to be loaded when its kind (or every kind) is asked for."""
        self._deferred[entry_point.name] = entry_point

    def _load_all(self) -> None:
        while self._deferred:
            _load_entry_point(self, self._deferred.pop(next(iter(self._deferred))))

    def source_of(self, kind: str) -> str | None:
        """Where the class of `kind` came from ("entry point marketplace", "/srv/hub/connectors/erp.py")."""
        return self._sources.get(kind)

    def register(self, cls: type[Connector], source: str) -> bool:
        """Add one class after checking it. A broken class or a kind already taken is recorded as a problem.

        Returns True when the class was added. Useful in tests to register an in-process connector.
        """
        reasons = validate_connector_class(cls)
        if reasons:
            name = getattr(cls, "__qualname__", repr(cls))
            self._problems.append(PluginProblem(source, f"{name}: {'; '.join(reasons)}"))
            return False
        deferred = self._deferred.pop(cls.kind, None)
        if deferred is not None:  # an entry point of that name comes first, as if loaded eagerly
            _load_entry_point(self, deferred)
        existing = self._kinds.get(cls.kind)
        if existing is not None:
            if existing is cls:
                return True
            self._problems.append(
                PluginProblem(
                    source,
                    f"kind {cls.kind!r} is already provided by {self._sources[cls.kind]} ({existing.__qualname__}); "
                    f"{cls.__qualname__} ignored",
                )
            )
            return False
        self._kinds[cls.kind] = cls
        self._sources[cls.kind] = source
        return True

    def create(self, kind: str, config: BaseModel | Mapping[str, Any], context: ConnectorContext) -> Connector:
        """A connector of `kind`, given its validated config (a mapping is validated with its config_model).

        Raises PluginError naming the channel for an unknown kind, a config of the wrong type or a mapping that
        does not validate (load_config reports settings errors in detail before this is reached). Any non-hub
        exception from the constructor is wrapped in PluginError, so a broken plugin cannot crash its caller with
        a vendor error.
        """
        cls = self._kinds.get(kind)
        if cls is None:
            known = ", ".join(sorted(self._kinds)) or "none"
            raise PluginError(f"unknown connector kind {kind!r} (known kinds: {known})", where=context.channel)
        if not isinstance(config, BaseModel):
            try:
                config = cls.config_model.model_validate(dict(config))
            except ValidationError as exc:
                raise PluginError(
                    f"invalid settings for {kind}: {exc.error_count()} error(s)", where=context.channel
                ) from None
        elif not isinstance(config, cls.config_model):
            raise PluginError(
                f"{kind} expects a {cls.config_model.__qualname__}, got {type(config).__qualname__}",
                where=context.channel,
            )
        try:
            return cls(config, context)
        except ChannelhubError:
            raise
        except Exception as exc:
            raise PluginError(
                f"{kind} connector failed to start: {type(exc).__name__}: {exc}", where=context.channel
            ) from exc


def discover(folders: Sequence[Path], *, entry_points: bool = True) -> Registry:
    """Find connectors in the entry point group (when `entry_points`), then in each folder in order.

    A folder that does not exist is skipped silently (the config loader reports folders it names that are
    missing). Never raises for a broken plugin: see `Registry.problems`.
    """
    registry = Registry()
    if entry_points:
        _load_entry_points(registry)
    for folder in folders:
        folder = Path(folder)
        if not folder.is_dir():
            continue
        for path in _drop_in_paths(folder):
            _load_drop_in(registry, path)
    return registry


def _load_entry_points(registry: Registry) -> None:
    for ep in metadata.entry_points(group=ENTRY_POINT_GROUP):
        registry.defer(ep)


def _load_entry_point(registry: Registry, ep: metadata.EntryPoint) -> None:
    source = f"entry point {ep.name} ({ep.value})"
    try:
        loaded = ep.load()
    except Exception as exc:
        registry._problems.append(PluginProblem(source, f"import failed: {_describe(exc)}"))
        return
    if isinstance(loaded, ModuleType):
        _register_module(registry, loaded, source)
    elif inspect.isclass(loaded) and issubclass(loaded, Connector):
        registry.register(loaded, source)
    else:
        registry._problems.append(PluginProblem(source, f"names {loaded!r}, not a Connector class"))


def _drop_in_paths(folder: Path) -> list[Path]:
    paths = []
    for path in sorted(folder.iterdir()):
        if path.name.startswith(("_", ".")):
            continue
        if (path.is_file() and path.suffix == ".py") or (path.is_dir() and (path / "__init__.py").is_file()):
            paths.append(path)
    return paths


def _module_name(path: Path) -> str:
    digest = hashlib.sha1(str(path.resolve()).encode()).hexdigest()[:10]
    stem = re.sub(r"\W", "_", path.stem)
    return f"{_MODULE_PREFIX}{digest}_{stem}"


def _load_drop_in(registry: Registry, path: Path) -> None:
    source = str(path)
    name = _module_name(path)
    if path.is_dir():
        spec = importlib.util.spec_from_file_location(
            name, path / "__init__.py", submodule_search_locations=[str(path)]
        )
    else:
        spec = importlib.util.spec_from_file_location(name, path)
    if spec is None or spec.loader is None:  # pragma: no cover - only for paths importlib cannot handle
        registry._problems.append(PluginProblem(source, "cannot be imported as a Python module"))
        return
    module = importlib.util.module_from_spec(spec)
    # Registered before running, as a normal import does: dataclasses, pydantic and relative imports need it.
    _forget_module(name)
    sys.modules[name] = module
    try:
        spec.loader.exec_module(module)
    except BaseException as exc:
        _forget_module(name)
        if not isinstance(exc, Exception) and not isinstance(exc, SystemExit):
            raise  # KeyboardInterrupt and friends are not a plugin's problem to report
        registry._problems.append(PluginProblem(source, f"import failed: {_describe(exc)}"))
        return
    found = _register_module(registry, module, source)
    if not found:
        registry._problems.append(PluginProblem(source, "defines no Connector subclass with a kind"))


def _register_module(registry: Registry, module: ModuleType, source: str) -> int:
    """Register the connector classes defined in `module` (or its submodules); return how many candidates."""
    candidates = 0
    for cls in _candidates(module):
        candidates += 1
        registry.register(cls, source)
    return candidates


def _candidates(module: ModuleType) -> Iterable[type[Connector]]:
    prefix = module.__name__ + "."
    seen: set[type] = set()
    for value in list(vars(module).values()):
        if (
            inspect.isclass(value)
            and issubclass(value, Connector)
            and value is not Connector
            and "kind" in vars(value)
            and (value.__module__ == module.__name__ or value.__module__.startswith(prefix))
            and value not in seen
        ):
            seen.add(value)
            yield value


def _forget_module(name: str) -> None:
    for key in [k for k in sys.modules if k == name or k.startswith(name + ".")]:
        del sys.modules[key]


def _describe(exc: BaseException) -> str:
    if isinstance(exc, SyntaxError):
        where = f"line {exc.lineno}" if exc.lineno else "unknown line"
        return f"SyntaxError at {where}: {exc.msg}"
    return f"{type(exc).__name__}: {exc}"
