"""Hot spots from a pyinstrument session, attributed to the project's own functions.

pyinstrument samples Python stacks; time inside C code (DuckDB queries, pandas kernels) is
counted as self time of the Python frame that called it. Two views:

- `by_project_function`: every sample's time goes to the *deepest project frame* on its
  stack (a function in transforms/, flows/, schemas/ or templates/), so library time lands on
  the line of our code that asked for it. This is the view to act on.
- `by_self_time`: plain self time per function, libraries included.

    .venv/bin/python -m bench.profile bench/results/profile-100k.pyisession
"""

from __future__ import annotations

import json
import sys
from collections import defaultdict
from pathlib import Path

PROJECT_DIRS = ("transforms/", "flows/", "schemas/", "templates/")


def _short(path: str | None) -> str:
    if not path:
        return "?"
    path = path.replace("\\", "/")
    for marker in ("site-packages/", "/work/main/"):
        if marker in path:
            return path.split(marker, 1)[1]
    for d in PROJECT_DIRS:
        i = path.find("/" + d)
        if i >= 0:
            return path[i + 1:]
    return path.rsplit("/", 2)[-2] + "/" + path.rsplit("/", 1)[-1] if "/" in path else path


def _is_project(path: str | None) -> bool:
    return bool(path) and "site-packages" not in path and any(f"/{d}" in path.replace("\\", "/")
                                                            for d in PROJECT_DIRS)


def hotspots(session_path: Path, top: int = 15) -> dict:
    from pyinstrument.session import Session

    session = Session.load(session_path)
    root = session.root_frame()
    attributed: dict[str, float] = defaultdict(float)
    inclusive: dict[str, float] = defaultdict(float)
    self_time: dict[str, float] = defaultdict(float)

    def key(frame) -> str:
        return f"{_short(frame.file_path)}:{frame.function}"

    stack = [(root, None, frozenset())]
    while stack:
        frame, owner, open_keys = stack.pop()
        if frame.is_synthetic:           # its time is already in the parent's total_self_time
            continue
        k = key(frame)
        if _is_project(frame.file_path):
            owner = k
            if k not in open_keys:       # recursion counted once
                inclusive[k] += frame.time
                open_keys = open_keys | {k}
        own = frame.total_self_time
        self_time[k] += own
        if owner:
            attributed[owner] += own
        for child in frame.children:
            stack.append((child, owner, open_keys))

    def ranked(table: dict[str, float]) -> list[dict]:
        rows = sorted(table.items(), key=lambda kv: -kv[1])[:top]
        return [{"function": k, "seconds": round(v, 3)} for k, v in rows if v >= 0.001]

    return {"profiled_seconds": round(root.time, 3) if root else 0.0,
            "by_project_function": ranked(attributed),
            "project_inclusive": ranked(inclusive),
            "by_self_time": ranked(self_time)}


if __name__ == "__main__":
    print(json.dumps(hotspots(Path(sys.argv[1])), indent=2))
