"""Optional extras: what an option needs beyond the base install, checked before it runs.

Kept free of heavy imports: the CLI checks an extra before it starts Prefect.
"""

from __future__ import annotations

import importlib.util

#: what --shards needs beyond the base install: the optional `dask` extra
DASK_MODULES = ("prefect_dask", "distributed")


class MissingExtra(RuntimeError):
    """An option needs an optional extra that is not installed."""


def require_dask() -> None:
    """Stop with one line naming the install command when the `dask` extra is missing (only
    `--shards` uses Dask, so the base install does not carry it)."""
    missing = [name for name in DASK_MODULES if importlib.util.find_spec(name) is None]
    if missing:
        raise MissingExtra(f"--shards needs Dask, which is not installed ({', '.join(missing)} missing): "
                           f"pip install -e '.[dask]'")
