"""The project files a DVC stage runs: the static import closure of its entry module.

Every `import` and `from ... import` statement anywhere in a module counts (stages import lazily inside
functions), as do the `__init__.py` of each package on the way. Run as a script, it prints each stage's
closure; with `--write` it replaces the code entries of each stage's `deps` in `dvc.yaml` with it,
keeping data dependencies and the file's layout:

    python -m tests.helpers.stage_imports [--write]
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import yaml

ROOT = Path(__file__).parents[2]
SEARCH = (ROOT / "src", ROOT)
PROJECT_PACKAGES = ("betavae", "pipelines")
#: Files a stage loads by path rather than by import: MLflow loads the logged encoder model from its file.
LOADED_BY_PATH = {"train": ["src/betavae/serving/betavae_model.py"]}


def module_file(name: str) -> Path | None:
    parts = name.split(".")
    for base in SEARCH:
        candidate = base.joinpath(*parts)
        if (candidate / "__init__.py").is_file():
            return candidate / "__init__.py"
        if candidate.with_suffix(".py").is_file():
            return candidate.with_suffix(".py")
    return None


def module_name(path: Path) -> str:
    rel = path.relative_to(ROOT / "src" if path.is_relative_to(ROOT / "src") else ROOT).with_suffix("")
    parts = rel.parts[:-1] if rel.name == "__init__" else rel.parts
    return ".".join(parts)


def imported_modules(path: Path) -> set[str]:
    """Absolute names of the modules (and, for `from m import x`, the candidates `m.x`) `path` imports."""
    package = module_name(path) if path.name == "__init__.py" else module_name(path).rpartition(".")[0]
    out: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            out.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[: len(base) - node.level + 1]
                module = ".".join(base + ([node.module] if node.module else []))
            else:
                module = node.module or ""
            out.add(module)
            out.update(f"{module}.{alias.name}" for alias in node.names)
    return {m for m in out if m.split(".")[0] in PROJECT_PACKAGES}


def closure(entry: str, extra: list[str] = ()) -> set[str]:
    """Project files (relative to the root) run by `python -m entry`, plus `extra` files and their imports."""
    todo = [entry]
    files: set[Path] = {ROOT / e for e in extra}
    todo_files = list(files)
    seen: set[str] = set()
    while todo or todo_files:
        if todo:
            name = todo.pop()
            if name in seen:
                continue
            seen.add(name)
            parts = name.split(".")
            for i in range(1, len(parts) + 1):  # importing a.b.c runs a/__init__, a/b/__init__, then c
                path = module_file(".".join(parts[:i]))
                if path is not None and path not in files:
                    files.add(path)
                    todo_files.append(path)
        else:
            todo.extend(imported_modules(todo_files.pop()))
    return {str(p.relative_to(ROOT)) for p in files}


def stage_commands(dvc_yaml: Path = ROOT / "dvc.yaml") -> dict[str, tuple[str, list[str]]]:
    """Stage name -> (entry module, code deps listed) for every stage whose command runs `python -m`."""
    out = {}
    for name, stage in yaml.safe_load(dvc_yaml.read_text())["stages"].items():
        body = stage.get("do", stage)
        match = re.search(r"python -m ([\w.]+)", body["cmd"])
        if match:
            deps = [d if isinstance(d, str) else next(iter(d)) for d in body.get("deps", [])]
            out[name] = (match.group(1), deps)
    return out


def listed_code(deps: list[str]) -> set[str]:
    """The Python files of the project named by `deps` (files, or every .py under a listed folder)."""
    files = set()
    for dep in deps:
        path = ROOT / dep
        if path.suffix == ".py":
            files.add(dep)
        elif dep.startswith(("src/", "pipelines")) and "$" not in dep:
            files.update(str(p.relative_to(ROOT)) for p in path.rglob("*.py"))
    return files


def is_code(dep: str) -> bool:
    return dep.startswith(("src/", "pipelines/", "pipelines")) and "$" not in dep


def write_deps(dvc_yaml: Path = ROOT / "dvc.yaml") -> None:
    """Rewrite the code part of every `python -m` stage's deps as its exact import closure."""
    from ruamel.yaml import YAML

    yml = YAML()
    yml.preserve_quotes = True
    yml.width = 120
    yml.indent(mapping=2, sequence=4, offset=2)
    doc = yml.load(dvc_yaml.read_text())
    for name, (entry, _) in stage_commands(dvc_yaml).items():
        body = doc["stages"][name].get("do", doc["stages"][name])
        kept = [d for d in body["deps"] if not (isinstance(d, str) and is_code(d))]
        body["deps"] = sorted(closure(entry, LOADED_BY_PATH.get(name, []))) + kept
    with open(dvc_yaml, "w") as fh:
        yml.dump(doc, fh)


if __name__ == "__main__":
    import sys

    if "--write" in sys.argv:
        write_deps()
    for stage, (entry, _) in stage_commands().items():
        print(f"{stage}:")
        for path in sorted(closure(entry, LOADED_BY_PATH.get(stage, []))):
            print(f"  - {path}")
