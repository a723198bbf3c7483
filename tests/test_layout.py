"""The layout's import rules, for whoever runs only pytest (bin/run-tests also runs
lint-imports with the contracts in pyproject.toml): no module of the project takes part
in an import cycle, and the project package imports no app."""

import grimp

APPS = (
    "staff",
    "residents",
    "inventory",
    "mar",
    "drugref",
    "nurse",
    "printing",
    "api",
    "demo",
    "bench",
)
PACKAGES = ("medtech", *APPS)

# Cycles known and being removed, each by one of its imports (the same lines as the
# acyclic contract's ignore_imports in pyproject.toml). Remove a line when its cycle goes.
KNOWN: set[tuple[str, str]] = set()  # none left: api.base and charting_rules broke the last two


def graph() -> grimp.ImportGraph:
    # Imports under TYPE_CHECKING count: a type hint is an arrow too.
    return grimp.build_graph(*PACKAGES, cache_dir=None)


def cycles(imports: dict[str, set[str]]) -> list[list[str]]:
    """The groups of modules that import each other round in a circle (Tarjan's strongly
    connected components, without recursion)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []
    for root in sorted(imports):
        if root in index:
            continue
        work = [(root, iter(sorted(imports[root])))]
        index[root] = low[root] = len(index)
        stack.append(root)
        on_stack.add(root)
        while work:
            module, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = len(index)
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(imports.get(child, ())))))
                elif child in on_stack:
                    low[module] = min(low[module], index[child])
                continue
            work.pop()
            if work:
                parent = work[-1][0]
                low[parent] = min(low[parent], low[module])
            if low[module] == index[module]:
                group = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    group.append(member)
                    if member == module:
                        break
                if len(group) > 1:
                    found.append(sorted(group))
    return found


def test_it_finds_a_cycle_when_there_is_one():
    imports = {"a.x": {"a.y"}, "a.y": {"a.z"}, "a.z": {"a.x"}, "a.w": {"a.x"}}

    assert cycles(imports) == [["a.x", "a.y", "a.z"]]


def test_no_module_of_the_project_takes_part_in_an_import_cycle():
    imports_graph = graph()
    imports = {
        module: {
            imported
            for imported in imports_graph.find_modules_directly_imported_by(module)
            if (module, imported) not in KNOWN
        }
        for module in imports_graph.modules
    }

    assert cycles(imports) == []


def test_the_project_package_imports_no_app():
    imports_graph = graph()

    arrows = sorted(
        (module, imported)
        for module in imports_graph.modules
        if module.split(".")[0] == "medtech"
        for imported in imports_graph.find_modules_directly_imported_by(module)
        if imported.split(".")[0] in APPS
    )

    assert arrows == []
