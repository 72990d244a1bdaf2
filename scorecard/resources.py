"""Packaged resources (sql/, templates/, sample_data/), found in a wheel and in a checkout alike.

In a wheel they are mapped into the package (see pyproject.toml); in a checkout or editable install
they sit at the top of the repository, next to the package.
"""

from __future__ import annotations

from importlib.resources import files
from pathlib import Path

RESOURCES = ("sql", "templates", "sample_data")


def resource_path(name: str) -> Path:
    if name not in RESOURCES:
        raise ValueError(f"unknown resource {name!r}")
    packaged = Path(str(files("scorecard").joinpath(name)))
    if packaged.is_dir():
        return packaged
    checkout = Path(__file__).resolve().parent.parent / name
    if checkout.is_dir():
        return checkout
    raise FileNotFoundError(f"scorecard is installed without its {name}/ folder; reinstall the package")
