"""The package's import graph has no cycles (every ``import voxjax...``, lazy ones included)."""
import ast
import os

ROOT = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "voxjax")


def _modules():
    mods = {}
    for folder, _, files in os.walk(ROOT):
        for name in files:
            if name.endswith(".py"):
                path = os.path.join(folder, name)
                rel = os.path.relpath(path, os.path.dirname(ROOT))[:-3].replace(os.sep, ".")
                mods[rel.removesuffix(".__init__")] = path
    return mods


def import_graph():
    """``module -> modules it imports`` (anywhere in the file, not only at the top), where
    importing ``a.b.c`` also runs the package ``a.b`` (its ``__init__``)."""
    mods, graph = _modules(), {}
    for module, path in mods.items():
        targets = set()
        with open(path, encoding="utf-8") as f:
            tree = ast.parse(f.read())
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names = [f"{node.module}.{a.name}" for a in node.names]
                targets.update(n if n in mods else node.module for n in names)
            elif isinstance(node, ast.Import):
                targets.update(a.name for a in node.names)
        deps = set()
        for target in (t for t in targets if t in mods):
            parts = target.split(".")
            deps.update(".".join(parts[:i]) for i in range(2, len(parts) + 1))
        # A module's own enclosing packages are already being imported when it runs.
        graph[module] = {d for d in deps if d in mods and d != module
                         and not module.startswith(d + ".")}
    return graph


def _cycles(graph):
    """Strongly connected components with more than one module (Tarjan)."""
    index, low, stack, on_stack, out = {}, {}, [], set(), []

    def visit(v):
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in graph[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = set()
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.add(w)
                if w == v:
                    break
            if len(component) > 1:
                out.append(sorted(component))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return out


def test_cycle_finder_sees_a_cycle():
    assert _cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]


def test_no_import_cycles():
    graph = import_graph()
    assert {"voxjax.text", "voxjax.corpus", "voxjax.espeak"} <= set(graph)
    assert "voxjax.espeak" in graph["voxjax.text"] and "voxjax.text" in graph["voxjax.corpus.build"]
    assert _cycles(graph) == []
