#!/usr/bin/env python3
"""Count the code lines of Python files and flag the ones over the size limits.

A code line is a line that holds at least one token that is not a comment, and that is not part of a docstring
(or of any other bare string statement, which Python keeps only as documentation). Blank lines do not count.

Two limits are checked:

* an **algorithm file** (a module outside ``baselines3/common`` that defines a class deriving, directly or
  through another algorithm class, from ``BaseAlgorithm``, ``OnPolicyAlgorithm`` or ``OffPolicyAlgorithm``)
  may hold at most ``--algo-limit`` code lines (160);
* any **module** may hold at most ``--module-limit`` code lines (500).

Usage::

    python3 tools/code_lines.py                    # algorithm files, modules over the limit, exit 1 if any
    python3 tools/code_lines.py --all              # ... and every module, largest first
    python3 tools/code_lines.py baselines3 zoo     # other roots (default: baselines3)
    python3 tools/code_lines.py --json             # machine-readable rows
"""

from __future__ import annotations

import argparse
import ast
import io
import json
import sys
import tokenize
from dataclasses import asdict, dataclass
from pathlib import Path

ALGORITHM_BASES = frozenset({"BaseAlgorithm", "OnPolicyAlgorithm", "OffPolicyAlgorithm"})
_NON_CODE_TOKENS = frozenset(
    {
        tokenize.COMMENT,
        tokenize.NL,
        tokenize.NEWLINE,
        tokenize.INDENT,
        tokenize.DEDENT,
        tokenize.ENCODING,
        tokenize.ENDMARKER,
    }
)


@dataclass
class FileCount:
    """Line counts of one file."""

    path: str
    code: int
    total: int
    algorithm: bool


def _documentation_lines(tree: ast.AST) -> set[int]:
    """Line numbers covered by bare string statements (docstrings and attribute docstrings)."""
    lines: set[int] = set()
    for node in ast.walk(tree):
        if (
            isinstance(node, ast.Expr)
            and isinstance(node.value, ast.Constant)
            and isinstance(node.value.value, str)
            and node.end_lineno is not None
        ):
            lines.update(range(node.lineno, node.end_lineno + 1))
    return lines


def count_code_lines(source: str) -> int:
    """Number of lines of ``source`` that hold code (not blank, not only comments, not documentation)."""
    doc_lines = _documentation_lines(ast.parse(source))
    code_lines: set[int] = set()
    for token in tokenize.generate_tokens(io.StringIO(source).readline):
        if token.type in _NON_CODE_TOKENS:
            continue
        # A multi-line token (a triple-quoted string used as a value) covers every line it spans.
        code_lines.update(range(token.start[0], token.end[0] + 1))
    return len(code_lines - doc_lines)


def _base_names(node: ast.ClassDef) -> set[str]:
    names = set()
    for base in node.bases:
        if isinstance(base, ast.Name):
            names.add(base.id)
        elif isinstance(base, ast.Attribute):
            names.add(base.attr)
    return names


def find_algorithm_files(trees: dict[Path, ast.Module]) -> set[Path]:
    """Files outside a ``common`` package that define a class derived (transitively) from an algorithm base."""
    algorithm_classes = set(ALGORITHM_BASES)
    class_bases = [
        (path, node.name, _base_names(node))
        for path, tree in trees.items()
        for node in tree.body
        if isinstance(node, ast.ClassDef)
    ]
    changed = True
    while changed:  # a class deriving from an algorithm class is an algorithm class (DDPG(TD3), ...)
        changed = False
        for _, name, bases in class_bases:
            if name not in algorithm_classes and bases & algorithm_classes:
                algorithm_classes.add(name)
                changed = True
    return {
        path
        for path, name, bases in class_bases
        if bases & algorithm_classes and name not in ALGORITHM_BASES and "common" not in path.parts
    }


def collect(roots: list[Path]) -> list[FileCount]:
    """Counts for every ``*.py`` file under ``roots``."""
    files = sorted({p for root in roots for p in ([root] if root.is_file() else root.rglob("*.py"))})
    sources = {path: path.read_text(encoding="utf-8") for path in files}
    trees = {path: ast.parse(src, filename=str(path)) for path, src in sources.items()}
    algorithm_files = find_algorithm_files(trees)
    return [
        FileCount(
            path=str(path),
            code=count_code_lines(src),
            total=len(src.splitlines()),
            algorithm=path in algorithm_files,
        )
        for path, src in sources.items()
    ]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("roots", nargs="*", default=["baselines3"], help="files or folders (default: baselines3)")
    parser.add_argument("--algo-limit", type=int, default=160, help="code lines allowed in an algorithm file")
    parser.add_argument("--module-limit", type=int, default=500, help="code lines allowed in any module")
    parser.add_argument("--all", action="store_true", help="list every module, not only the flagged ones")
    parser.add_argument("--json", action="store_true", help="print the rows as JSON")
    args = parser.parse_args(argv)

    rows = collect([Path(r) for r in args.roots])
    over_algo = [r for r in rows if r.algorithm and r.code > args.algo_limit]
    over_module = [r for r in rows if r.code > args.module_limit]
    if args.json:
        print(json.dumps([asdict(r) for r in sorted(rows, key=lambda r: -r.code)], indent=1))
        return 1 if over_algo or over_module else 0

    print(f"Algorithm files (limit {args.algo_limit} code lines):")
    for r in sorted((r for r in rows if r.algorithm), key=lambda r: -r.code):
        flag = "  OVER" if r.code > args.algo_limit else ""
        print(f"  {r.code:5d} code / {r.total:5d} lines  {r.path}{flag}")
    listed = rows if args.all else over_module
    title = "All modules" if args.all else "Modules over the limit"
    print(f"\n{title} (limit {args.module_limit} code lines):")
    for r in sorted(listed, key=lambda r: -r.code):
        flag = "  OVER" if r.code > args.module_limit else ""
        print(f"  {r.code:5d} code / {r.total:5d} lines  {r.path}{flag}")
    if not listed:
        print("  none")
    print(
        f"\n{len(rows)} files, {sum(r.code for r in rows)} code lines; "
        f"{len(over_algo)} algorithm file(s) over {args.algo_limit}, {len(over_module)} module(s) over "
        f"{args.module_limit}"
    )
    return 1 if over_algo or over_module else 0


if __name__ == "__main__":
    sys.exit(main())
