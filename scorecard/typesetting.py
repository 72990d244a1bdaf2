"""Typst → PDF (or SVG), offline, in this process.

The report templates (templates/pdf/*.typ) read one JSON document, the page model, passed as a
system input: customer text reaches them as string values, never as markup, so it cannot inject
anything. Typst reads files only under the templates folder and fetches nothing; the templates import
no package (a test holds them to that). The fonts are the DejaVu Sans files shipped in
templates/fonts (the same on every machine, so identical inputs give identical bytes), with the
machine's own fonts as a fallback for letters DejaVu lacks (DejaVu's last release, 2.37, is what
machines that have it carry).

Typst releases the interpreter lock while it compiles, so threads compile documents side by side."""

from __future__ import annotations

import functools
import json
import re
from pathlib import Path

import typst

from .errors import ScorecardError
from .resources import resource_path


def templates_folder() -> Path:
    return resource_path("templates") / "pdf"


@functools.cache
def _fonts() -> typst.Fonts:
    return typst.Fonts(include_system_fonts=True, include_embedded_fonts=False, font_paths=[str(resource_path("templates") / "fonts")])


# How Typst names a package it would download: "@namespace/name:version".
_PACKAGE = re.compile(r"""["'](@[\w-]+/[\w-]+:[\w.-]+)["']""")


def package_imports(folder: Path) -> list[tuple[str, str]]:
    """(file, package) for every Typst package the templates in `folder` name: there must be none."""
    return [(path.name, match) for path in sorted(folder.glob("*.typ")) for match in _PACKAGE.findall(path.read_text(encoding="utf-8"))]


@functools.cache
def _check_offline(folder: Path) -> None:
    for name, package in package_imports(folder):
        raise ScorecardError(
            f"the report template {name} imports the Typst package {package}; reports never download anything (please report this)"
        )


def compile_document(template: str, model: dict, format: str = "pdf", root: Path | None = None) -> bytes | list[bytes]:
    """The template (a file of the templates folder) typeset with `model` as its page model: PDF bytes,
    or one SVG per page for format="svg". A template error stops the build with ScorecardError."""
    folder = root or templates_folder()
    _check_offline(folder)
    compiler = typst.Compiler(str(folder / template), root=str(folder), font_paths=_fonts(), sys_inputs={"model": _json(model)})
    try:
        # No structure tags: they double a scorecard's bytes (81 → 185 kB), and the PDFs never carried them.
        return compiler.compile(format=format, pdf_tags=False) if format == "pdf" else compiler.compile(format=format)
    except typst.TypstError as error:
        where = _WHERE.search(error.diagnostic or "")
        at = f" at {where.group(1)}" if where else ""
        raise ScorecardError(f"the report template {template} could not be typeset: {error.message}{at} (please report this)") from None


_WHERE = re.compile(r"┌─ (?:\S*/)?([^/\s]+:\d+):\d+")  # the first place Typst's diagnostic points at: file:line


def _json(model: dict) -> str:
    return json.dumps(model, ensure_ascii=False, separators=(",", ":"), default=str)
