"""The wheel carries sql/, templates/ and sample_data/: install it (not editable) into a fresh venv and
run a command from another folder."""

from __future__ import annotations

import subprocess
import sys
import sysconfig
import venv

import pytest

from conftest import REPO


@pytest.mark.slow
def test_wheel_install_runs_metrics_on_the_bundled_sample(tmp_path):
    dist = tmp_path / "dist"
    subprocess.run([sys.executable, "-m", "pip", "wheel", str(REPO), "--no-deps", "-w", str(dist), "-q"], check=True)
    wheel = next(dist.glob("scorecard-*.whl"))
    environment = tmp_path / "venv"
    venv.create(environment, with_pip=True)
    python = environment / "bin" / "python"
    subprocess.run([str(python), "-m", "pip", "install", "--no-deps", "-q", str(wheel)], check=True)
    # The dependencies come from the test environment; its own (editable) scorecard stays invisible,
    # because .pth files in a directory added this way are not processed.
    site_packages = subprocess.run(
        [str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"], capture_output=True, text=True, check=True
    ).stdout.strip()
    (environment / "lib" / site_packages.split("/lib/", 1)[1] / "test-deps.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")

    where = subprocess.run(
        [str(python), "-c", "import scorecard, scorecard.resources as r; print(scorecard.__file__); print(r.resource_path('sql'))"],
        capture_output=True, text=True, check=True, cwd=tmp_path,
    ).stdout.splitlines()  # fmt: skip
    assert all(str(environment) in line for line in where), where

    result = subprocess.run(
        [str(environment / "bin" / "scorecard"), "metrics", "--period", "Q3"], capture_output=True, text=True, cwd=tmp_path
    )
    assert result.returncode == 0, result.stderr
    assert "SAMPLE DATA" in result.stdout and "Company" in result.stdout


def test_every_third_party_import_is_a_declared_dependency():
    """The wheel test borrows the test environment's libraries, so it cannot notice an undeclared one;
    this can: every module the package imports must come from a distribution in pyproject's dependencies
    (or, for the Spark engine's modules, in its optional `spark` extra)."""
    import ast
    import sys
    import tomllib
    from importlib.metadata import packages_distributions

    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]

    def names(requirements):
        return {r.split(">")[0].split("<")[0].split("=")[0].split("[")[0].strip().lower() for r in requirements}

    distributions = packages_distributions()
    missing = set()
    for path in (REPO / "scorecard").rglob("*.py"):
        # Runtime dependencies, and the optional extras a module imports when it is used: a loader's
        # (postgres) anywhere, the Spark engine's in its own modules.
        declared = names(project["dependencies"] + project["optional-dependencies"]["postgres"])
        if path.parent.name == "engines" and path.stem.startswith("spark"):
            declared |= names(project["optional-dependencies"]["spark"])
        imported = set()
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                imported |= {alias.name.split(".")[0] for alias in node.names}
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                imported.add(node.module.split(".")[0])
        third_party = {name for name in imported if name not in sys.stdlib_module_names and name != "scorecard"}
        missing |= {f"{path.name}: {name}" for name in third_party if not {d.lower() for d in distributions.get(name, [name])} & declared}
    assert missing == set(), f"imported but not declared in pyproject.toml: {sorted(missing)}"
