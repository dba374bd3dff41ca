#!/usr/bin/env python3
"""Compare the public API of the installed Stable-Baselines3 with baselines3's.

Walks ``stable_baselines3`` and every submodule, collects the public names each module defines or re-exports
from Stable-Baselines3 itself, and the keyword parameters of each class constructor and function, then looks
the same paths up under ``baselines3`` and reports:

* ``missing module``   -- ``stable_baselines3.X`` has no ``baselines3.X``;
* ``missing name``     -- the module exists but lacks a public name;
* ``missing re-export``-- a name an SB3 module imports from another SB3 module (listed with ``--all``);
* ``missing kwarg``    -- a constructor or function lacks a parameter (and has no ``**kwargs`` to take it);
* ``kwarg via **kw``   -- the parameter is not named, but a ``**kwargs`` would accept it;
* ``default differs``  -- both have the parameter, with different defaults;
* ``missing method``   -- (with ``--methods``) a class lacks a public method or property.

Usage::

    python3 tools/sb3_api_diff.py                 # table of differences and a summary
    python3 tools/sb3_api_diff.py --all           # ... with re-exports and the parameters only a **kwargs takes
    python3 tools/sb3_api_diff.py --module common.vec_env --methods
    python3 tools/sb3_api_diff.py --json          # machine-readable rows
"""

from __future__ import annotations

import argparse
import ast
import importlib
import inspect
import json
import pkgutil
import sys
import warnings
from dataclasses import asdict, dataclass
from pathlib import Path
from types import ModuleType
from typing import Any

SB3 = "stable_baselines3"
OURS = "baselines3"

# The repository root goes first on the path, so the checkout is compared rather than an installed copy.
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

#: Row kinds, in the order the table lists them.
KINDS = (
    "missing module",
    "missing name",
    "missing re-export",
    "missing kwarg",
    "kwarg via **kw",
    "default differs",
    "missing method",
)


@dataclass
class Row:
    """One difference: where it is, what kind it is and the details."""

    module: str
    name: str
    kind: str
    detail: str = ""


def sb3_modules() -> list[str]:
    """Every importable public module path of Stable-Baselines3 (``stable_baselines3`` included)."""
    package = importlib.import_module(SB3)
    names = [SB3]
    for info in pkgutil.walk_packages(package.__path__, prefix=f"{SB3}."):
        if any(part.startswith("_") for part in info.name.split(".")):
            continue
        names.append(info.name)
    return sorted(names)


def _imported_from_sb3(node: ast.ImportFrom) -> bool:
    module = node.module or ""
    return node.level > 0 or module == SB3 or module.startswith(f"{SB3}.")


def public_names(module: ModuleType) -> dict[str, bool]:
    """Public names of ``module``, each mapped to whether it is the module's own API (False: a re-export).

    ``__all__`` is taken as it is where the module has one. Otherwise the source is read: top-level functions,
    classes and assignments are the module's own; ``from stable_baselines3... import X`` lines are re-exports,
    except in a package's ``__init__``, where they are the API. Third-party imports (``numpy``, ``torch``,
    ``gymnasium.spaces``...) and submodules do not count.
    """
    if hasattr(module, "__all__"):
        return {str(name): True for name in module.__all__}
    names: dict[str, bool] = {}
    is_package = hasattr(module, "__path__")
    try:
        body = ast.parse(inspect.getsource(module)).body
    except (OSError, TypeError):  # no source (an empty __init__, say): what the module holds
        body = []
        names = dict.fromkeys(vars(module), True)
    for node in body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            names[node.name] = True
        elif isinstance(node, ast.Assign):
            names.update((target.id, True) for target in node.targets if isinstance(target, ast.Name))
        elif isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
            names[node.target.id] = True
        elif isinstance(node, ast.ImportFrom) and _imported_from_sb3(node):
            for alias in node.names:
                if alias.name != "*":
                    names.setdefault(alias.asname or alias.name, is_package)
        elif isinstance(node, ast.If):  # e.g. `if TYPE_CHECKING:` or optional-dependency blocks
            for inner in node.body:
                if isinstance(inner, (ast.FunctionDef, ast.ClassDef)):
                    names[inner.name] = True
    return {
        name: own
        for name, own in sorted(names.items())
        if not name.startswith("_") and hasattr(module, name) and not inspect.ismodule(getattr(module, name))
    }


def signature_of(obj: Any) -> inspect.Signature | None:
    """The call signature of a function, or of a class's constructor (``self`` dropped); None if unknown."""
    try:
        if inspect.isclass(obj):
            init = obj.__dict__.get("__init__") or getattr(obj, "__init__", None)
            if init is None or init is object.__init__:
                return None
            sig = inspect.signature(init)
            params = list(sig.parameters.values())[1:]
            return sig.replace(parameters=params)
        if inspect.isfunction(obj) or inspect.isbuiltin(obj):
            return inspect.signature(obj)
    except (TypeError, ValueError):
        return None
    return None


def _counterpart(obj: Any) -> str | None:
    """``module.qualname`` of a class or function, with Stable-Baselines3's package name mapped to ours."""
    module, qualname = getattr(obj, "__module__", None), getattr(obj, "__qualname__", None)
    if not isinstance(module, str) or not isinstance(qualname, str):
        return None
    if module == SB3 or module.startswith(f"{SB3}."):
        module = OURS + module[len(SB3) :]
    return f"{module}.{qualname}"


def _same_default(a: Any, b: Any) -> bool:
    if (inspect.isclass(a) or inspect.isfunction(a)) and _counterpart(a) is not None:
        # A default naming an SB3 class (NatureCNN, ...) matches our class of the same path and name; the
        # modules may differ where a class lives elsewhere here, so the name alone decides.
        return getattr(a, "__qualname__", None) == getattr(b, "__qualname__", None)
    try:
        if a is b or bool(a == b):
            return type(a) is type(b) or (isinstance(a, (int, float)) and isinstance(b, (int, float)))
    except Exception:  # arrays, tensors and other objects without a plain boolean equality
        pass
    return repr(a) == repr(b)


def compare_signatures(module: str, name: str, theirs: inspect.Signature, ours: inspect.Signature) -> list[Row]:
    """Rows for each SB3 parameter ``ours`` lacks or gives a different default."""
    rows = []
    our_params = ours.parameters
    has_var_kw = any(p.kind is inspect.Parameter.VAR_KEYWORD for p in our_params.values())
    for param in theirs.parameters.values():
        if param.kind in (inspect.Parameter.VAR_POSITIONAL, inspect.Parameter.VAR_KEYWORD):
            continue
        if param.name not in our_params:
            kind = "kwarg via **kw" if has_var_kw else "missing kwarg"
            default = "" if param.default is inspect.Parameter.empty else f" (SB3 default {param.default!r})"
            rows.append(Row(module, name, kind, f"{param.name}{default}"))
            continue
        mine = our_params[param.name]
        if param.default is inspect.Parameter.empty:
            continue
        if mine.default is inspect.Parameter.empty:
            rows.append(Row(module, name, "default differs", f"{param.name}: SB3 {param.default!r}, ours required"))
        elif not _same_default(param.default, mine.default):
            detail = f"{param.name}: SB3 {param.default!r}, ours {mine.default!r}"
            rows.append(Row(module, name, "default differs", detail))
    return rows


def public_members(cls: type) -> set[str]:
    """Public methods and properties a class defines itself or inherits from Stable-Baselines3 classes."""
    names = set()
    for klass in cls.__mro__:
        if not klass.__module__.startswith(SB3):
            continue
        for attr, value in vars(klass).items():
            if attr.startswith("_"):
                continue
            if inspect.isfunction(value) or isinstance(value, (property, staticmethod, classmethod)):
                names.add(attr)
    return names


def diff(prefix: str = "", methods: bool = False) -> tuple[list[Row], dict[str, int]]:
    """All differences (optionally only for modules under ``stable_baselines3.<prefix>``) and counts checked."""
    rows: list[Row] = []
    checked = {"modules": 0, "names": 0, "signatures": 0}
    wanted = f"{SB3}.{prefix}" if prefix else SB3
    for sb3_path in sb3_modules():
        if not (sb3_path == wanted or sb3_path.startswith(f"{wanted}.")):
            continue
        our_path = OURS + sb3_path[len(SB3) :]
        short = our_path
        try:
            theirs = importlib.import_module(sb3_path)
        except Exception:  # an SB3 module whose optional dependency is absent here
            continue
        checked["modules"] += 1
        try:
            mine = importlib.import_module(our_path)
        except ImportError as error:
            rows.append(Row(short, "", "missing module", f"ImportError: {str(error).splitlines()[0][:60]}"))
            continue
        for name, own in public_names(theirs).items():
            checked["names"] += 1
            if not hasattr(mine, name):
                rows.append(Row(short, name, "missing name" if own else "missing re-export"))
                continue
            their_obj, our_obj = getattr(theirs, name), getattr(mine, name)
            if getattr(their_obj, "__module__", sb3_path) != sb3_path:
                continue  # a re-export: its signature is compared once, where SB3 defines it
            their_sig, our_sig = signature_of(their_obj), signature_of(our_obj)
            if their_sig is not None and our_sig is not None:
                checked["signatures"] += 1
                rows.extend(compare_signatures(short, name, their_sig, our_sig))
            if methods and inspect.isclass(their_obj) and inspect.isclass(our_obj):
                for member in sorted(public_members(their_obj)):
                    if not hasattr(our_obj, member):
                        rows.append(Row(short, f"{name}.{member}", "missing method"))
    # One row per difference, even where a module re-exports a name another module defines.
    unique = {(r.module, r.name, r.kind, r.detail): r for r in rows}
    ordered = sorted(unique.values(), key=lambda r: (KINDS.index(r.kind), r.module, r.name, r.detail))
    return ordered, checked


def format_table(rows: list[Row]) -> str:
    """The rows as a fixed-width text table."""
    headers = ("kind", "module", "name", "detail")
    cells = [(r.kind, r.module, r.name, r.detail) for r in rows]
    widths = [max([len(h)] + [len(c[i]) for c in cells]) for i, h in enumerate(headers)]
    widths[-1] = len(headers[-1])  # the last column is not padded
    lines = ["  ".join(h.ljust(w) for h, w in zip(headers, widths)).rstrip()]
    lines.append("  ".join("-" * w for w in widths[:-1]) + "  " + "-" * 6)
    lines += ["  ".join(c.ljust(w) for c, w in zip(cell, widths)).rstrip() for cell in cells]
    return "\n".join(lines)


def summary(rows: list[Row], checked: dict[str, int], sb3_version: str) -> str:
    """A few lines: what was compared and how many differences of each kind."""
    counts = {kind: sum(r.kind == kind for r in rows) for kind in KINDS}
    lines = [
        f"Compared against stable_baselines3 {sb3_version}: {checked['modules']} modules, "
        f"{checked['names']} public names, {checked['signatures']} signatures.",
    ]
    lines += [f"  {kind:<17} {count}" for kind, count in counts.items() if count or kind != "missing method"]
    lines.append("(the table leaves out re-exports and **kwargs-only parameters: --all lists them)")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    """Print the difference table and summary; the exit status is 0 (this is a report, not a check)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--module", default="", help="only modules under stable_baselines3.<MODULE>, e.g. common.utils")
    parser.add_argument("--methods", action="store_true", help="also list public methods the classes lack")
    parser.add_argument(
        "--all", action="store_true", help="also list re-exports and the parameters a **kwargs accepts unnamed"
    )
    parser.add_argument("--json", action="store_true", help="print the rows as JSON")
    args = parser.parse_args(argv)
    try:
        sb3 = importlib.import_module(SB3)
    except ImportError:
        print("stable_baselines3 is not installed: nothing to compare with", file=sys.stderr)
        return 1
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        rows, checked = diff(args.module, args.methods)
    if args.json:
        print(json.dumps([asdict(r) for r in rows], indent=1))  # every row, --all or not
        return 0
    hidden = ("kwarg via **kw", "missing re-export")
    shown = rows if args.all else [r for r in rows if r.kind not in hidden]
    if shown:
        print(format_table(shown))
        print()
    print(summary(rows, checked, getattr(sb3, "__version__", "?")))
    return 0


if __name__ == "__main__":
    sys.exit(main())
