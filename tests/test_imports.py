"""The import structure, read from the source (``ast``), not from a running interpreter.

* No import cycle inside ``churn_core``. Function-level imports COUNT: every ``import`` or
  ``from ... import`` anywhere in a module (top level, inside a function, a method or a
  branch) is an edge, so a cycle cannot hide behind a lazy import.
* Each stage imports only itself and earlier stages, in the order
  io, data, evaluate, model, explain, campaign, figures, workbench, cli; the top-level
  ``config``, ``errors`` and ``columns`` may be imported anywhere.
* ``app.py``, ``pages/*.py`` and ``pages/_ui.py`` import ``churn_core.workbench`` and no other
  ``churn_core`` module, and no keras / tensorflow / sklearn / shap.
* Importing ``churn_core.workbench`` (the app's first page) does not import TensorFlow.
* No module of ``churn_core`` or ``pages`` is over 600 lines.
"""
from __future__ import annotations

import ast
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
STAGES = ["io", "data", "evaluate", "model", "explain", "campaign", "figures", "workbench", "cli"]
ANYWHERE = {"config", "errors", "columns"}
PAGE_FILES = sorted((ROOT / "pages").glob("*.py")) + [ROOT / "app.py"]


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join(parts)


MODULES = {_module_name(p): p for p in (ROOT / "churn_core").rglob("*.py")}


def imported_modules(path: Path, name: str) -> list[tuple[str, int]]:
    """Every module ``path`` imports (``(module, line)``), at any depth of the file.

    ``from package import sub`` counts as importing ``package.sub`` when that is a module.
    """
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [(a.name, node.lineno) for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:  # relative import: resolve against this module's package
                base = name.split(".")
                if path.name != "__init__.py":
                    base = base[:-1]
                base = base[:len(base) - (node.level - 1)]
                mod = ".".join(base + ([node.module] if node.module else []))
            else:
                mod = node.module or ""
            found.append((mod, node.lineno))
            found += [(f"{mod}.{a.name}", node.lineno) for a in node.names
                      if f"{mod}.{a.name}" in MODULES]
    return found


def _resolve(mod: str) -> str | None:
    """The ``churn_core`` module (or package) an imported name lives in, else None."""
    while mod and mod not in MODULES:
        mod = mod.rpartition(".")[0]
    return mod or None


def churn_graph() -> dict[str, dict[str, int]]:
    graph: dict[str, dict[str, int]] = {}
    for name, path in MODULES.items():
        edges = {}
        for mod, line in imported_modules(path, name):
            if mod == "churn_core" or mod.startswith("churn_core."):
                target = _resolve(mod)
                if target and target != name:
                    edges.setdefault(target, line)
        graph[name] = edges
    return graph


def find_cycles(graph: dict[str, dict]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan, iterative)."""
    index, low, on_stack, stack, out = {}, {}, set(), [], []
    counter = 0
    for root in graph:
        if root in index:
            continue
        work = [(root, iter(graph[root]))]
        index[root] = low[root] = counter
        counter += 1
        stack.append(root)
        on_stack.add(root)
        while work:
            node, children = work[-1]
            for child in children:
                if child not in graph:
                    continue
                if child not in index:
                    index[child] = low[child] = counter
                    counter += 1
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(graph[child])))
                    break
                if child in on_stack:
                    low[node] = min(low[node], index[child])
            else:
                work.pop()
                if work:
                    low[work[-1][0]] = min(low[work[-1][0]], low[node])
                if low[node] == index[node]:
                    comp = []
                    while True:
                        member = stack.pop()
                        on_stack.discard(member)
                        comp.append(member)
                        if member == node:
                            break
                    if len(comp) > 1:
                        out.append(sorted(comp))
    return out


def test_the_cycle_finder_finds_a_planted_cycle():
    graph = {"a": {"b": 1}, "b": {"c": 1}, "c": {"a": 1}, "d": {"a": 1}}
    assert find_cycles(graph) == [["a", "b", "c"]]
    assert find_cycles({"a": {"b": 1}, "b": {}}) == []


def test_function_level_imports_are_counted():
    graph = churn_graph()
    # validate imports infer (for looks_like_id); infer must not import validate back
    assert "churn_core.data.infer" in graph["churn_core.data.validate"]
    assert "churn_core.data.validate" not in graph["churn_core.data.infer"]
    # the lazy TensorFlow paths are still edges: bundle -> network is read inside functions
    # or at the top, either way it is in the graph
    assert "churn_core.model.network" in graph["churn_core.model.bundle"] or \
        "churn_core.model.network" in graph["churn_core.model.train"]


def test_no_import_cycle_in_churn_core():
    cycles = find_cycles(churn_graph())
    assert cycles == [], f"import cycles (function-level imports included): {cycles}"


def _stage(module: str) -> str | None:
    parts = module.split(".")
    if len(parts) < 2:
        return None
    return "cli" if parts[1].startswith("cli_") else parts[1]  # cli.py and its command groups


def test_each_stage_imports_only_earlier_stages():
    bad = []
    for name, edges in churn_graph().items():
        own = _stage(name)
        if own not in STAGES:
            continue
        for target, line in edges.items():
            other = _stage(target)
            if other is None or other in ANYWHERE:
                continue
            assert other in STAGES, f"{target} is neither a stage nor allowed anywhere"
            if STAGES.index(other) > STAGES.index(own):
                bad.append(f"{MODULES[name].relative_to(ROOT)}:{line} imports {target}")
    assert bad == []


def test_top_level_modules_import_no_stage():
    graph = churn_graph()
    for top in ANYWHERE:
        stages = [t for t in graph[f"churn_core.{top}"] if _stage(t) in STAGES]
        assert stages == [], f"churn_core.{top} imports {stages}"


@pytest.mark.parametrize("path", PAGE_FILES, ids=lambda p: p.name)
def test_pages_import_only_the_workbench(path):
    bad = []
    for mod, line in imported_modules(path, path.stem):
        top = mod.split(".")[0]
        if top == "churn_core" and mod != "churn_core" and not (
                mod == "churn_core.workbench" or mod.startswith("churn_core.workbench.")):
            bad.append(f"{path.name}:{line} imports {mod}")
        if mod == "churn_core.workbench.workspace" or mod.startswith("churn_core.workbench._"):
            bad.append(f"{path.name}:{line} imports {mod}")
        if top in {"keras", "tensorflow", "sklearn", "shap", "plotly"}:
            bad.append(f"{path.name}:{line} imports {mod}")
    # "from churn_core import X" is allowed only for X = workbench
    tree = ast.parse(path.read_text(encoding="utf-8"))
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module == "churn_core":
            bad += [f"{path.name}:{node.lineno} imports churn_core.{a.name}"
                    for a in node.names if a.name != "workbench"]
    assert bad == []


def test_importing_the_workbench_does_not_import_tensorflow():
    code = ("import sys, churn_core.workbench; "
            "print(sorted(m for m in ('tensorflow', 'keras', 'shap', 'dask') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True,
                         check=True, timeout=120)
    assert out.stdout.strip() == "[]"


def test_no_module_over_600_lines():
    files = list((ROOT / "churn_core").rglob("*.py")) + PAGE_FILES
    long = {str(f.relative_to(ROOT)): n for f in files
            if (n := len(f.read_text(encoding="utf-8").splitlines())) > 600}
    assert long == {}


def test_the_app_frame_imports_no_heavy_library_before_a_page_needs_it():
    """app.py's frame (``pages._ui``) and the workspace import the workbench lazily: no
    scikit-learn, SciPy, plotly express, SHAP code or TensorFlow until a page uses them (issue 18:
    about 2 s of the first page's start-up); every public name still resolves."""
    code = ("import sys, pages._ui, churn_core.workbench as wb; "
            "ws = wb.Workspace({}, wb.ResultStore()); "
            "heavy = ('sklearn', 'scipy', 'plotly.express', 'shap', 'tensorflow', 'keras', "
            "'churn_core.explain.shap_values'); "
            "print(sorted(m for m in heavy if m in sys.modules)); "
            "missing = [n for n in wb.__all__ if getattr(wb, n, None) is None]; "
            "print(missing)")
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True,
                         check=True, timeout=120, env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert out.stdout.split("\n")[:2] == ["[]", "[]"], out.stdout + out.stderr
