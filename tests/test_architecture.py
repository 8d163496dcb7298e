"""docs/architecture.md lists every kerasgan module, lower to higher, as the imports really go."""

import ast
import glob
import os
import re

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _documented_order():
    with open(os.path.join(ROOT, "docs", "architecture.md"), encoding="utf-8") as file:
        text = file.read()
    table = text.split("## Modules, lower to higher", 1)[1].split("\n## ", 1)[0]
    order = []
    for row in re.findall(r"^\| (`[^|]+) \|", table, re.M):
        order.extend(re.findall(r"`(\w+)`", row))
    return order


def _module_files(name):
    """The module's file, or every file of a package (kerasgan/data/)."""
    package = os.path.join(ROOT, "kerasgan", name)
    if os.path.isdir(package):
        return sorted(glob.glob(os.path.join(package, "*.py")))
    return [package + ".py"]


def _top_level_imports(name):
    """kerasgan modules imported at module level (not inside functions or `if __name__`); for a
    package, by any of its files, its own submodules left out."""
    found = set()
    for path in _module_files(name):
        with open(path, encoding="utf-8") as file:
            tree = ast.parse(file.read())
        for node in tree.body:
            if isinstance(node, ast.ImportFrom) and node.module == "kerasgan":
                found.update(alias.name for alias in node.names)
            elif isinstance(node, ast.ImportFrom) and (node.module or "").startswith("kerasgan."):
                found.add(node.module.split(".")[1])
            elif isinstance(node, ast.Import):
                found.update(a.name.split(".")[1] for a in node.names
                             if a.name.startswith("kerasgan."))
    return found - {name}


def test_every_module_is_documented_once():
    paths = glob.glob(os.path.join(ROOT, "kerasgan", "*.py"))
    modules = [os.path.basename(p)[:-3] for p in paths if not p.endswith("__init__.py")]
    packages = glob.glob(os.path.join(ROOT, "kerasgan", "*", "__init__.py"))
    modules = sorted(modules + [os.path.basename(os.path.dirname(p)) for p in packages])
    order = _documented_order()
    assert sorted(order) == modules


def test_modules_import_only_modules_listed_above_them():
    order = _documented_order()
    rank = {name: index for index, name in enumerate(order)}
    upward = {name: sorted(imported for imported in _top_level_imports(name)
                           if rank.get(imported, len(order)) >= rank[name])
              for name in order}  # a module missing from the table counts as the highest
    assert {name: found for name, found in upward.items() if found} == {}


@pytest.mark.parametrize("package,extra", [("data", ["__main__"]), ("networks", [])])
def test_package_submodules_import_only_lower_ones(package, extra):
    """A package's __init__.py lists its submodules lower to higher; none imports a higher one
    at module level (an `if TYPE_CHECKING:` import for annotations is not one)."""
    with open(os.path.join(ROOT, "kerasgan", package, "__init__.py"), encoding="utf-8") as file:
        doc = ast.get_docstring(ast.parse(file.read()))
    listed = doc.split("The package, lower to higher:", 1)[1].split("python -m", 1)[0]
    order = re.findall(r"`(\w+)` \(", listed) + extra
    files = sorted(os.path.basename(p)[:-3] for p in _module_files(package))
    assert sorted(order + ["__init__"]) == files
    upward = {}
    for index, name in enumerate(order):
        with open(os.path.join(ROOT, "kerasgan", package, f"{name}.py"),
                  encoding="utf-8") as file:
            tree = ast.parse(file.read())
        imported = set()
        for node in tree.body:
            if isinstance(node, ast.ImportFrom) and node.module == f"kerasgan.{package}":
                imported.update(alias.name for alias in node.names)
            elif isinstance(node, ast.ImportFrom) and (node.module or "").startswith(
                    f"kerasgan.{package}."):
                imported.add(node.module.split(".")[2])
        higher = sorted(m for m in imported if m not in order[:index])
        if higher:
            upward[name] = higher
    assert upward == {}


def _user_facing_files():
    paths = [os.path.join(ROOT, "README.md")]
    for folder in ("docs", "experiments", "notebooks"):
        paths += glob.glob(os.path.join(ROOT, folder, "**", "*.md"), recursive=True)
    return paths


def test_user_facing_files_point_only_inside_the_repository():
    outside = []
    for path in _user_facing_files():
        with open(path, encoding="utf-8") as file:
            text = file.read()
        if "../shared" in text or "shared/design" in text:
            outside.append(f"{path}: mentions the project's shared folder")
        for target in re.findall(r"\]\(([^)#\s]+)", text):
            if re.match(r"[a-z]+://|mailto:", target):
                continue
            resolved = os.path.normpath(os.path.join(os.path.dirname(path), target))
            if not resolved.startswith(ROOT + os.sep) or not os.path.exists(resolved):
                outside.append(f"{path}: link {target}")
    assert outside == []
