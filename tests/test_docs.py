"""Every ```python block of the docs and the README runs on its own, as a reader would paste it.

Each block runs in a fresh interpreter inside an empty temporary folder (files it saves land there). Markers
the reader does not see, HTML comments on the lines just above the fence (several may be stacked):

- ``<!-- slow -->``: the block trains for longer than a few seconds; the test is marked ``slow``.
- ``<!-- shrink: 10_000_000 -> 1_000, 100_000 -> 500 -->``: for examples that train for hours; the test runs the
  block with each text on the left replaced by the one on the right (every occurrence; each must occur).
- ``<!-- no-run: reason -->``: the block is deliberately not runnable (the reason is the skip message).

A block that needs an optional dependency (found from its imports and the env ids it names) is skipped when
that dependency is missing.
"""

from __future__ import annotations

import importlib.util
import os
import re
import subprocess
import sys
import textwrap
from dataclasses import dataclass, field
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
DOC_FILES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]

FAST_TIMEOUT_S = 180  # generous: the machine may be busy; a block that needs this long should be slow
SLOW_TIMEOUT_S = 1200

_FENCE_OPEN = re.compile(r"^(?P<indent>[ \t]*)(?P<fence>`{3,}|~{3,})\s*(?P<info>[^\s`]*)")
_MARKER = re.compile(r"^\s*<!--\s*(?P<name>slow|no-run|shrink)\s*(?::\s*(?P<value>.*?))?\s*-->\s*$")

# Optional dependencies: the module to look for, and patterns in a block's text that show it is needed.
_IMPORTS = r"^\s*(?:import|from)\s+{}\b"
_OPTIONAL = {
    "ale_py": [_IMPORTS.format("ale_py"), r"\bALE/", r"NoFrameskip", r"\bmake_atari_env\b"],
    "Box2D": [_IMPORTS.format("Box2D"), r"LunarLander", r"BipedalWalker", r"CarRacing"],
    "mujoco": [
        _IMPORTS.format("mujoco"),
        r"\b(?:HalfCheetah|Hopper|Walker2d|Ant|Humanoid|HumanoidStandup|Swimmer|Reacher|Pusher)-v\d",
        r"\bInverted(?:Double)?Pendulum-v\d",
    ],
    "optuna": [_IMPORTS.format("optuna")],
    "stable_baselines3": [_IMPORTS.format("stable_baselines3")],
}
# Gymnasium's MuJoCo envs also import imageio when their module loads.
_ALSO_NEEDED = {"mujoco": ["imageio"]}


@dataclass
class Block:
    path: Path
    line: int  # 1-based line of the opening fence
    code: str  # as the reader sees it
    slow: bool = False
    no_run: str | None = None
    shrink: list[tuple[str, str]] = field(default_factory=list)

    @property
    def id(self) -> str:
        path = self.path.relative_to(ROOT) if self.path.is_relative_to(ROOT) else self.path
        return f"{path.as_posix()}:{self.line}"

    def needs(self) -> list[str]:
        modules = []
        for module, patterns in _OPTIONAL.items():
            if any(re.search(pattern, self.code, flags=re.MULTILINE) for pattern in patterns):
                modules += [module, *_ALSO_NEEDED.get(module, [])]
        return modules

    def code_to_run(self) -> str:
        """The code with the ``shrink`` replacements made (each must occur in the block)."""
        code = self.code
        for old, new in self.shrink:
            if old not in code:
                raise ValueError(f"{self.id}: the shrink marker replaces {old!r}, which the block does not contain")
            code = code.replace(old, new)
        return code


def _parse_shrink(value: str) -> list[tuple[str, str]]:
    pairs = []
    for item in value.split(","):
        old, arrow, new = item.partition("->")
        if not arrow or not old.strip() or not new.strip():
            raise ValueError(f"a shrink marker reads 'OLD -> NEW[, OLD -> NEW]', got {value!r}")
        pairs.append((old.strip(), new.strip()))
    return pairs


def extract_blocks(path: Path) -> list[Block]:
    """The ```python blocks of a markdown file (indented fences included), with the markers just above them."""
    lines = path.read_text(encoding="utf-8").splitlines()
    blocks = []
    index = 0
    while index < len(lines):
        match = _FENCE_OPEN.match(lines[index])
        if match is None:
            index += 1
            continue
        indent, fence, info = match["indent"], match["fence"], match["info"].lower()
        closing = re.compile(rf"^{re.escape(indent)}{re.escape(fence[0])}{{{len(fence)},}}\s*$")
        end = index + 1
        while end < len(lines) and not closing.match(lines[end]):
            end += 1
        if info in ("python", "py", "python3"):
            body = "\n".join(line.removeprefix(indent) for line in lines[index + 1 : end])
            block = Block(path=path, line=index + 1, code=textwrap.dedent(body) + "\n")
            above = index - 1
            while above >= 0 and (marker := _MARKER.match(lines[above])) is not None:
                if marker["name"] == "slow":
                    block.slow = True
                elif marker["name"] == "no-run":
                    block.no_run = marker["value"] or "marked no-run"
                else:
                    block.shrink += _parse_shrink(marker["value"] or "")
                above -= 1
            blocks.append(block)
        index = end + 1
    return blocks


def _params() -> list:
    params = []
    for path in DOC_FILES:
        for block in extract_blocks(path):
            marks = []
            if block.slow:
                marks.append(pytest.mark.slow)
            if block.no_run is not None:
                marks.append(pytest.mark.skip(reason=f"no-run: {block.no_run}"))
            missing = [module for module in block.needs() if importlib.util.find_spec(module) is None]
            if missing:
                marks.append(pytest.mark.skip(reason=f"needs {', '.join(missing)}"))
            params.append(pytest.param(block, id=block.id, marks=marks))
    return params


@pytest.mark.parametrize("block", _params())
def test_doc_block_runs(block: Block, tmp_path: Path) -> None:
    script = tmp_path / "block.py"
    script.write_text(block.code_to_run(), encoding="utf-8")
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT), *filter(None, [env.get("PYTHONPATH")])])
    # Two test workers share the cores: one thread each; plots go to no screen.
    env.update(OMP_NUM_THREADS="1", MKL_NUM_THREADS="1", MPLBACKEND="Agg", SDL_VIDEODRIVER="dummy")
    timeout = SLOW_TIMEOUT_S if block.slow else FAST_TIMEOUT_S
    try:
        result = subprocess.run(
            [sys.executable, str(script)],
            cwd=tmp_path,
            env=env,
            capture_output=True,
            text=True,
            timeout=timeout,
        )
    except subprocess.TimeoutExpired:
        pytest.fail(f"{block.id} ran past {timeout} s (mark it <!-- slow --> or shrink its budget)")
    if result.returncode != 0:
        pytest.fail(
            f"{block.id} failed (exit {result.returncode}):\n{block.code_to_run()}\n"
            f"--- stdout ---\n{result.stdout[-2000:]}\n--- stderr ---\n{result.stderr[-4000:]}"
        )


def test_blocks_are_found() -> None:
    blocks = [block for path in DOC_FILES for block in extract_blocks(path)]
    assert len(blocks) > 20
    assert any(block.path.name == "vec_envs.md" for block in blocks)
    for block in blocks:
        block.code_to_run()  # every shrink marker matches its block


def test_no_misspelt_markers() -> None:
    """An HTML comment just above a python fence must be a known marker (a typo would silently do nothing)."""
    wrong = []
    for path in DOC_FILES:
        lines = path.read_text(encoding="utf-8").splitlines()
        for block in extract_blocks(path):
            above = block.line - 2
            while above >= 0 and _MARKER.match(lines[above]):
                above -= 1
            if above >= 0 and lines[above].lstrip().startswith("<!--"):
                wrong.append(f"{path.relative_to(ROOT)}:{above + 1}: {lines[above].strip()}")
    assert not wrong, "unknown markers above python blocks (slow, no-run: reason, shrink: OLD -> NEW):\n" + "\n".join(
        wrong
    )


def test_markers_are_read(tmp_path: Path) -> None:
    page = tmp_path / "page.md"
    page.write_text(
        "text\n\n<!-- slow -->\n```python\nprint(1)\n```\n\n<!-- no-run: a fragment -->\n```python\nx\n```\n\n"
        "- item\n\n    ```python\n    import ale_py\n    ```\n\n```bash\nls\n```\n",
        encoding="utf-8",
    )
    first, second, third = extract_blocks(page)
    assert (first.line, first.slow, first.no_run, first.code) == (4, True, None, "print(1)\n")
    assert (second.slow, second.no_run) == (False, "a fragment")
    assert third.code == "import ale_py\n" and third.needs() == ["ale_py"]


def test_shrink_marker(tmp_path: Path) -> None:
    page = tmp_path / "page.md"
    page.write_text(
        "<!-- slow -->\n<!-- shrink: 10_000 -> 10, n_envs=8 -> n_envs=2 -->\n```python\n"
        "# from stable_baselines3 import PPO\nmodel.learn(10_000, n_envs=8)\n```\n",
        encoding="utf-8",
    )
    (block,) = extract_blocks(page)
    assert block.slow and block.needs() == []  # a commented-out import needs nothing
    assert block.code_to_run().endswith("model.learn(10, n_envs=2)\n")
    block.shrink.append(("20_000", "1"))
    with pytest.raises(ValueError, match="20_000"):
        block.code_to_run()
