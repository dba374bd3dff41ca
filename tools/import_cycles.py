#!/usr/bin/env python3
"""Find import cycles between the modules of baselines3 (and optionally zoo), and lazy imports that dodge them.

The import graph is read from the source with ``ast`` (nothing is imported). Every ``import``/``from ... import``
statement counts, wherever it sits:

* **top-level** imports run when the module is imported;
* **function-local** imports (inside a ``def``) run later, which is how a cycle is usually hidden; they are part
  of the graph, so a hidden cycle is still a cycle;
* imports under ``if TYPE_CHECKING:`` never run; they are left out of the graph unless
  ``--include-type-checking`` is given (they are how annotations may name a module without depending on it).

``from P import n`` depends on the module ``P.n`` when that is a module of the scanned tree, else on ``P``.
Cycles are printed as strongly connected components (groups of two or more modules that all reach each other),
with the edges that close them. Then every function-local import is listed unless it is an optional dependency
(a third-party package outside ``[project] dependencies`` of pyproject.toml). An import that is deliberately
deferred for another reason says why on its line or the line above, as ``# lazy import: <reason>``; those are
listed apart, with the reason, and do not count.

Usage::

    python3 tools/import_cycles.py                      # baselines3: cycles, then lazy imports to review
    python3 tools/import_cycles.py --zoo                # baselines3 and zoo
    python3 tools/import_cycles.py --include-type-checking
    python3 tools/import_cycles.py --cycles-only        # exit status 1 when there is a cycle

The exit status is 1 when a cycle is found, else 0.
"""

from __future__ import annotations

import argparse
import ast
import re
import sys
from collections import defaultdict
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path

TOP_LEVEL = "top-level"
LOCAL = "function-local"
TYPE_CHECKING_ONLY = "type-checking"


@dataclass(frozen=True)
class ImportEdge:
    """One import statement of ``source`` that names ``target`` (a dotted module name)."""

    source: str
    target: str
    kind: str
    path: str
    line: int
    reason: str = ""  # the text after "# lazy import:" next to the statement, if any


_LAZY_MARKER = re.compile(r"#\s*lazy import:\s*(.*)$")


def _lazy_reason(lines: list[str], lineno: int) -> str:
    """The reason given as ``# lazy import: ...`` on line ``lineno`` (1-based) or the line above, else ""."""
    for text in (lines[lineno - 1], lines[lineno - 2] if lineno > 1 else ""):
        match = _LAZY_MARKER.search(text)
        if match:
            return match.group(1).strip() or "(no reason given)"
    return ""


def module_name(path: Path, root: Path) -> str:
    """Dotted name of the module at ``path``, ``root`` being the folder that holds the top package."""
    parts = list(path.relative_to(root).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _imports(tree: ast.Module) -> list[tuple[ast.Import | ast.ImportFrom, str]]:
    """Every import statement of ``tree`` with its kind (top-level, function-local, type-checking)."""
    found: list[tuple[ast.Import | ast.ImportFrom, str]] = []

    def visit(node: ast.AST, kind: str) -> None:
        if isinstance(node, ast.Import | ast.ImportFrom):
            found.append((node, kind))
            return
        if isinstance(node, ast.If) and _is_type_checking(node.test):
            for statement in node.body:
                visit(statement, TYPE_CHECKING_ONLY)
            for statement in node.orelse:
                visit(statement, kind)
            return
        child_kind = LOCAL if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda) else kind
        if kind == TYPE_CHECKING_ONLY:
            child_kind = TYPE_CHECKING_ONLY
        for child in ast.iter_child_nodes(node):
            visit(child, child_kind)

    for statement in tree.body:
        visit(statement, TOP_LEVEL)
    return found


def _resolve_relative(module: str, is_package: bool, level: int, name: str | None) -> str:
    package = module.split(".") if is_package else module.split(".")[:-1]
    base = package[: len(package) - (level - 1)] if level > 1 else package
    return ".".join([*base, name] if name else base)


def build_graph(paths: list[tuple[Path, Path]]) -> tuple[set[str], list[ImportEdge]]:
    """Modules of the scanned tree and every import statement, resolved to dotted names."""
    modules = {module_name(path, root): (path, path.name == "__init__.py") for path, root in paths}
    edges: list[ImportEdge] = []
    for name, (path, is_package) in modules.items():
        source = path.read_text(encoding="utf-8")
        tree = ast.parse(source, filename=str(path))
        lines = source.splitlines()
        for node, kind in _imports(tree):
            if isinstance(node, ast.Import):
                targets = [alias.name for alias in node.names]
            else:
                base = node.module or ""
                if node.level:
                    base = _resolve_relative(name, is_package, node.level, node.module)
                targets = [f"{base}.{a.name}" if f"{base}.{a.name}" in modules else base for a in node.names]
            for target in dict.fromkeys(targets):
                reason = _lazy_reason(lines, node.lineno) if kind == LOCAL else ""
                edges.append(ImportEdge(name, target, kind, str(path), node.lineno, reason))
    return set(modules), edges


def strongly_connected_components(nodes: set[str], graph: dict[str, set[str]]) -> list[list[str]]:
    """Tarjan's algorithm (iterative); components of two or more nodes, or one node importing itself."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    on_stack: set[str] = set()
    stack: list[str] = []
    components: list[list[str]] = []
    counter = 0
    for start in sorted(nodes):
        if start in index:
            continue
        work: list[tuple[str, list[str]]] = [(start, sorted(graph.get(start, ())))]
        index[start] = low[start] = counter
        counter += 1
        stack.append(start)
        on_stack.add(start)
        while work:
            node, children = work[-1]
            if children:
                child = children.pop(0)
                if child not in index:
                    index[child] = low[child] = counter
                    counter += 1
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, sorted(graph.get(child, ()))))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                parent = work[-1][0]
                low[parent] = min(low[parent], low[node])
            if low[node] == index[node]:
                component = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.append(member)
                    if member == node:
                        break
                if len(component) > 1 or node in graph.get(node, ()):
                    components.append(sorted(component))
    return sorted(components)


def required_import_names(pyproject: Path) -> set[str]:
    """Top-level import names of the packages in ``[project] dependencies`` (always installed)."""
    # Read without tomllib (Python 3.11+): the first ``dependencies = [...]`` array, one quoted string per item.
    match = re.search(r"^dependencies\s*=\s*\[(.*?)^\]", pyproject.read_text(encoding="utf-8"), re.M | re.S)
    deps = re.findall(r"\"([^\"]+)\"", match.group(1)) if match else []
    dists = {re.split(r"[\s<>=!~;\[]", dep, maxsplit=1)[0].lower().replace("_", "-") for dep in deps}
    names = {d.replace("-", "_") for d in dists}
    for import_name, dist_names in metadata.packages_distributions().items():
        if any(d.lower().replace("_", "-") in dists for d in dist_names):
            names.add(import_name)
    return names


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--root", default=".", help="repository root (default: .)")
    parser.add_argument("--zoo", action="store_true", help="scan zoo/ too")
    parser.add_argument("--include-type-checking", action="store_true", help="count TYPE_CHECKING imports")
    parser.add_argument("--cycles-only", action="store_true", help="do not list the function-local imports")
    args = parser.parse_args(argv)

    root = Path(args.root)
    packages = ["baselines3", "zoo"] if args.zoo else ["baselines3"]
    files = [(path, root) for package in packages for path in sorted((root / package).rglob("*.py"))]
    modules, edges = build_graph(files)
    first_party = {m.split(".")[0] for m in modules}

    kinds = {TOP_LEVEL, LOCAL} | ({TYPE_CHECKING_ONLY} if args.include_type_checking else set())
    graph: dict[str, set[str]] = defaultdict(set)
    for edge in edges:
        if edge.kind in kinds and edge.target in modules and edge.target != edge.source:
            graph[edge.source].add(edge.target)
    components = strongly_connected_components(modules, graph)

    n_edges = sum(len(v) for v in graph.values())
    print(f"{len(modules)} modules, {n_edges} internal import edges ({', '.join(sorted(kinds))})")
    print(f"\nImport cycles (strongly connected components): {len(components)}")
    for i, component in enumerate(components, 1):
        members = set(component)
        print(f"  [{i}] {' <-> '.join(component)}")
        for edge in edges:
            if edge.kind in kinds and edge.source in members and edge.target in members and edge.source != edge.target:
                print(f"        {edge.source} -> {edge.target}  ({edge.kind}, {edge.path}:{edge.line})")

    if not args.cycles_only:
        required = required_import_names(root / "pyproject.toml")
        stdlib = set(sys.stdlib_module_names)
        lazy: list[tuple[ImportEdge, str]] = []
        excused: list[tuple[ImportEdge, str]] = []
        for edge in edges:
            if edge.kind != LOCAL:
                continue
            top = edge.target.split(".")[0]
            if top in first_party:
                why = "first-party"
            elif top in stdlib:
                why = "standard library"
            elif top in required:
                why = "required dependency"
            else:
                continue  # an optional dependency: importing it inside the function is the point
            (excused if edge.reason else lazy).append((edge, why))
        print(f"\nFunction-local imports that are not for optional dependencies: {len(lazy)}")
        for edge, why in lazy:
            print(f"  {edge.path}:{edge.line}  {edge.target}  ({why})")
        print(f"\nDeferred on purpose (# lazy import: <reason>): {len(excused)}")
        for edge, why in excused:
            print(f"  {edge.path}:{edge.line}  {edge.target}  ({why}: {edge.reason})")
    return 1 if components else 0


if __name__ == "__main__":
    sys.exit(main())
