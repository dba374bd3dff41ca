"""`python -m zoo <command>` (or the `baselines3-zoo` console script): one entry point for the zoo's tools.

python -m zoo train --algo dqn --env CartPole-v1
python -m zoo enjoy --algo dqn --env CartPole-v1 -f logs
python -m zoo record-video --algo dqn --env CartPole-v1 -f logs
python -m zoo plot --algo dqn --env CartPole-v1 -f logs
python -m zoo tune --algo dqn --env CartPole-v1 --n-trials 20   # = train -optimize
"""

from __future__ import annotations

import importlib
import sys

#: command -> (module with a `main(argv)`, arguments put before the user's)
COMMANDS: dict[str, tuple[str, list[str]]] = {
    "train": ("zoo.train", []),
    "enjoy": ("zoo.enjoy", []),
    "record-video": ("zoo.record_video", []),
    "plot": ("zoo.plot", []),
    "tune": ("zoo.train", ["-optimize"]),
}


def main(argv: list[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    if not args or args[0] in ("-h", "--help"):
        print(__doc__.strip() if __doc__ else "")
        print(f"\ncommands: {', '.join(COMMANDS)}; `python -m zoo <command> --help` lists a command's options")
        return 0 if args else 2
    command, rest = args[0], args[1:]
    if command not in COMMANDS:
        print(f"unknown command {command!r}; choose one of: {', '.join(COMMANDS)}", file=sys.stderr)
        return 2
    module, prefix = COMMANDS[command]
    sys.argv[0] = f"python -m zoo {command}"  # what argparse prints as the program name in --help and errors
    return int(importlib.import_module(module).main([*prefix, *rest]) or 0)


if __name__ == "__main__":
    sys.exit(main())
