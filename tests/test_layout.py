"""The layout of `fer/` (docs/code.md): what each part may import, no import cycles, and docs that name
only modules and paths that exist."""

import ast
import importlib
import importlib.util
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PARTS = ["face_path", "model", "video", "app", "training"]
# Each part may import itself, these parts and `fer.errors`. Top-level command modules (`fer.predict` ...)
# and the scripts are front ends: they are checked separately.
MAY_IMPORT = {
    "face_path": set(),
    "model": {"face_path"},
    "video": {"face_path", "model"},
    "app": {"face_path", "model", "video"},
    "training": {"face_path", "model"},
}
SHARED = {"fer", "fer.errors"}
FRONT_ENDS = {"app.py": {"app", "face_path", "model", "video"}, "train.py": {"training"}}
DOCS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md")), ROOT / "fer" / "pretrained" / "README.md"]


def is_module(name: str) -> bool:
    try:
        return importlib.util.find_spec(name) is not None
    except ModuleNotFoundError:  # a name inside a module, such as fer.model.classifier.EmotionClassifier
        return False


def module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imported_modules(path: Path) -> set[str]:
    """Every `fer` module `path` imports, at the top or inside a function; `from fer.x import y` counts
    `fer.x.y` when y is a module."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names if alias.name.split(".")[0] == "fer")
        elif isinstance(node, ast.ImportFrom) and node.module and node.module.split(".")[0] == "fer":
            for alias in node.names:
                submodule = f"{node.module}.{alias.name}"
                found.add(submodule if is_module(submodule) else node.module)
    return found


def part_of(module: str) -> str | None:
    pieces = module.split(".")
    return pieces[1] if len(pieces) > 1 and pieces[1] in PARTS else None


LIBRARY = {module_name(path): path for path in sorted((ROOT / "fer").rglob("*.py"))}
IMPORTS = {module: imported_modules(path) for module, path in LIBRARY.items()}


def test_every_module_of_the_library_belongs_to_a_part_or_is_shared_or_a_command():
    commands = {"fer.predict", "fer.evaluate", "fer.onnx_export"}
    loose = [module for module in LIBRARY if part_of(module) is None and module not in SHARED | commands]
    assert loose == []


@pytest.mark.parametrize("part", PARTS)
def test_a_part_imports_only_the_parts_below_it(part):
    allowed = MAY_IMPORT[part] | {part}
    breaches = sorted(f"{module} imports {imported}" for module, imports in IMPORTS.items() if part_of(module) == part
                      for imported in imports if imported not in SHARED and part_of(imported) not in allowed)
    assert breaches == []


@pytest.mark.parametrize("script", sorted(FRONT_ENDS))
def test_app_py_never_imports_training_and_train_py_never_the_app(script):
    imported_parts = {part_of(module) for module in imported_modules(ROOT / script)} - {None}
    assert imported_parts <= FRONT_ENDS[script]


def test_the_library_has_no_import_cycles():
    graph = {module: {imported for imported in imports if imported in LIBRARY} for module, imports in IMPORTS.items()}
    done, path = set(), []

    def visit(module):
        if module in path:
            raise AssertionError("import cycle: " + " → ".join(path[path.index(module):] + [module]))
        if module in done:
            return
        path.append(module)
        for imported in graph[module] - {"fer"}:
            visit(imported)
        path.pop()
        done.add(module)

    for module in graph:
        visit(module)


def named_in_docs() -> tuple[set[str], set[str]]:
    """`fer/...` paths and `fer.x.y` dotted names in the user-facing documents."""
    paths, dotted = set(), set()
    for document in DOCS:
        text = document.read_text()
        paths.update(match.rstrip(".") for match in re.findall(r"\bfer/[\w./-]*", text))
        dotted.update(match.rstrip(".") for match in re.findall(r"(?<![\w/.])fer\.[a-z_][\w.]*", text))
    return paths, dotted


def test_the_docs_name_only_paths_that_exist():
    paths, _ = named_in_docs()
    assert paths, "the docs should point into fer/"
    assert sorted(path for path in paths if not (ROOT / path).exists()) == []


def test_the_docs_name_only_modules_and_attributes_that_exist():
    _, dotted = named_in_docs()
    assert dotted, "the docs should name fer's modules"
    stale = []
    for name in sorted(dotted):
        pieces = name.split(".")
        known = max(n for n in range(1, len(pieces) + 1) if is_module(".".join(pieces[:n])))
        value = importlib.import_module(".".join(pieces[:known]))
        for attribute in pieces[known:]:
            value = getattr(value, attribute, None)
        if value is None:
            stale.append(name)
    assert stale == []
