"""SQL is always parameterised: no value reaches a query's text.

Every query given to asyncpg (execute, fetch*, executemany, copy_*, cursor, prepare) in
service/golive is read with `ast`: a literal is fine; an f-string, `%`, `+` or
`.format` may only interpolate literals, names bound to such (followed through their
assignments), or an expression of ALLOWED: trusted identifiers and SQL fragments that
golive itself writes, each with the reason it is safe. Values go in as $1, $2...
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

SERVICE = Path(__file__).resolve().parents[2] / "service" / "golive"
QUERY_METHODS = {
    "execute",
    "executemany",
    "fetch",
    "fetchrow",
    "fetchval",
    "copy_from_table",
    "copy_from_query",
    "copy_to_table",
    "copy_records_to_table",
    "cursor",
    "prepare",
}

# (file under service/golive, expression as ast.unparse writes it): why it is trusted.
ALLOWED = {
    ("store/alerts.py", "column"): "checked against ('starts_at', 'resolved_at') first",
    ("store/batches.py", "projection.table"): "a projection's table name (PROJECTIONS)",
    ("store/projections.py", "table"): "a projection's table name (PROJECTIONS)",
    ("store/projections.py", "projection.table"): "a projection's table name (PROJECTIONS)",
    ("store/queries.py", "projection.table"): "a projection's table name (PROJECTIONS)",
    ("store/projections.py", "sets"): "a projection's derived columns: names, positions, SQL types",
    ("store/replay.py", "tables"): "table names of PROJECTIONS and golive's derived tables",
    ("store/projections.py", "held"): "the locking SELECT, built of a projection's table name",
    ("store/projections.py", "updates"): (
        "a CTE per projection, named by position, each an UPDATE of `_update` (a builder, "
        "checked in itself) with $n placeholders numbered by position"
    ),
    ("store/projections.py", "columns"): "column names of a projection's derived columns",
    ("store/kpis.py", "ROLLOUT_HISTOGRAMS"): "built at import from the HISTOGRAMS constant",
    ("store/reports.py", "snapshot"): (
        "pg_export_snapshot()'s result: made by Postgres, and SET TRANSACTION SNAPSHOT "
        "takes no parameter"
    ),
    ("store/migrations.py", "migration.sql"): "a migration file shipped in the package",
    ("store/db.py", "args"): (
        "PacedConnection hands its caller's query to asyncpg unchanged: the query is "
        "checked where the caller writes it"
    ),
}


# golive's functions (in store/) returning SQL text made of literals and their arguments:
# $n placeholders and fragments of golive's own. Their arguments are checked where they
# are called, like any interpolation, and what else they return is checked in them.
SQL_BUILDERS = {"in_scope", "lead_times_sql", "changes_deployed", "_update"}


def _scopes(tree: ast.Module) -> dict[ast.AST, ast.AST]:
    """Each node's innermost enclosing function (or the module)."""
    owner: dict[ast.AST, ast.AST] = {}

    def visit(node: ast.AST, scope: ast.AST) -> None:
        for child in ast.iter_child_nodes(node):
            owner[child] = scope
            inner = child if isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef) else scope
            visit(child, inner)

    visit(tree, tree)
    return owner


def _returns(function: ast.FunctionDef | ast.AsyncFunctionDef) -> list[ast.expr]:
    """The values `function` returns (not those of functions nested in it)."""
    values: list[ast.expr] = []
    todo = list(ast.iter_child_nodes(function))
    while todo:
        node = todo.pop()
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef | ast.Lambda):
            continue
        if isinstance(node, ast.Return) and node.value is not None:
            values.append(node.value)
        todo.extend(ast.iter_child_nodes(node))
    return values


def _assigned(scope: ast.AST, name: str) -> list[ast.expr]:
    """The values bound to `name` directly in `scope` (not in nested functions)."""
    values: list[ast.expr] = []
    todo = list(ast.iter_child_nodes(scope))
    while todo:
        node = todo.pop()
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            continue
        if isinstance(node, ast.Assign | ast.AnnAssign) and node.value is not None:
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            if any(isinstance(t, ast.Name) and t.id == name for t in targets):
                values.append(node.value)
            for target in targets:  # a, b = x, y
                if isinstance(target, ast.Tuple) and isinstance(node.value, ast.Tuple):
                    values += [
                        v
                        for t, v in zip(target.elts, node.value.elts, strict=False)
                        if isinstance(t, ast.Name) and t.id == name
                    ]
        todo.extend(ast.iter_child_nodes(node))
    return values


class Scan:
    def __init__(self, path: Path) -> None:
        self.file = str(path.relative_to(SERVICE))
        self.tree = ast.parse(path.read_text(), str(path))
        self.owner = _scopes(self.tree)

    def violations(self) -> Iterator[str]:
        for node in ast.walk(self.tree):
            if (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Attribute)
                and node.func.attr in QUERY_METHODS
            ):
                query = node.args[0] if node.args else None
                for keyword in node.keywords:
                    if keyword.arg == "query":
                        query = keyword.value
                if query is not None:
                    for expr in self.unsafe(query, self.owner[node], set()):
                        yield f"{self.file}:{node.lineno}: {node.func.attr}() query text uses {expr}"
            elif (
                isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef)
                and node.name in SQL_BUILDERS
                and self.file.startswith("store/")  # `domain.releases.in_scope` is no SQL
            ):
                # Its arguments are checked where it is called; what it adds, here.
                arguments = node.args.posonlyargs + node.args.args + node.args.kwonlyargs
                parameters = {a.arg for a in arguments}
                for returned in _returns(node):
                    for expr in self.unsafe(returned, node, parameters):
                        yield f"{self.file}:{returned.lineno}: {node.name}() returns SQL text using {expr}"

    def unsafe(self, expr: ast.expr, scope: ast.AST, seen: set[str]) -> Iterator[str]:
        """The parts of `expr` that are neither literal text nor trusted."""
        if isinstance(expr, ast.Constant):
            return
        text = ast.unparse(expr)
        if (self.file, text) in ALLOWED:
            return
        if isinstance(expr, ast.JoinedStr):
            for part in expr.values:
                if isinstance(part, ast.FormattedValue):
                    yield from self.unsafe(part.value, scope, seen)
        elif isinstance(expr, ast.BinOp) and isinstance(expr.op, ast.Add | ast.Mod):
            yield from self.unsafe(expr.left, scope, seen)
            right = expr.right
            parts = right.elts if isinstance(right, ast.Tuple | ast.Dict) else [right]
            for part in parts:
                if part is not None:
                    yield from self.unsafe(part, scope, seen)
        elif (
            isinstance(expr, ast.Call)
            and isinstance(expr.func, ast.Attribute)
            and expr.func.attr == "format"
        ):
            yield from self.unsafe(expr.func.value, scope, seen)
            for arg in [*expr.args, *(k.value for k in expr.keywords)]:
                yield from self.unsafe(arg, scope, seen)
        elif isinstance(expr, ast.IfExp):
            yield from self.unsafe(expr.body, scope, seen)
            yield from self.unsafe(expr.orelse, scope, seen)
        elif isinstance(expr, ast.Subscript) and isinstance(expr.value, ast.Dict):
            # {"json": "document", ...}[fmt]: one of the literal values, whatever the key.
            for value in expr.value.values:
                yield from self.unsafe(value, scope, seen)
        elif isinstance(expr, ast.List | ast.Tuple):
            for element in expr.elts:
                yield from self.unsafe(element, scope, seen)
        elif isinstance(expr, ast.Starred):
            yield from self.unsafe(expr.value, scope, seen)
        elif (
            isinstance(expr, ast.Call)
            and isinstance(expr.func, ast.Attribute)
            and expr.func.attr == "join"
            and len(expr.args) == 1
        ):
            yield from self.unsafe(expr.func.value, scope, seen)
            yield from self.unsafe(expr.args[0], scope, seen)
        elif (
            isinstance(expr, ast.Call)
            and isinstance(expr.func, ast.Name)
            and expr.func.id in SQL_BUILDERS
        ):
            for arg in [*expr.args, *(k.value for k in expr.keywords)]:
                yield from self.unsafe(arg, scope, seen)
        elif isinstance(expr, ast.Name) and expr.id not in seen:
            # A name is as safe as every value bound to it, in its function or the module.
            values = _assigned(scope, expr.id) or _assigned(self.tree, expr.id)
            if not values:
                yield text
            for value in values:
                yield from self.unsafe(value, self.owner.get(value, scope), seen | {expr.id})
        elif not isinstance(expr, ast.Name):
            yield text


def violations_in(source: str) -> list[str]:
    path = SERVICE / "store" / "example.py"
    scan = Scan.__new__(Scan)
    scan.file, scan.tree = "store/example.py", ast.parse(source, str(path))
    scan.owner = _scopes(scan.tree)
    return list(scan.violations())


def test_every_query_of_golive_is_parameterised() -> None:
    found = [v for path in sorted(SERVICE.rglob("*.py")) for v in Scan(path).violations()]
    assert found == [], "values interpolated into SQL text:\n" + "\n".join(found)


def test_the_scan_finds_values_in_the_query_text() -> None:
    source = """
COLUMNS = "a, b"
QUERY = f"SELECT {COLUMNS} FROM t"

async def good(conn, key):
    where = "key = $1"
    await conn.fetch(f"SELECT {COLUMNS} FROM t WHERE {where}", key)
    await conn.fetch(QUERY)

async def bad(conn, key, name):
    await conn.fetch(f"SELECT * FROM t WHERE key = '{key}'")
    await conn.execute("DELETE FROM t WHERE key = '%s'" % key)
    await conn.fetchrow("SELECT * FROM " + name)
    await conn.fetchval("SELECT {} FROM t".format(name.upper()))
    query = f"SELECT * FROM t WHERE key = '{key}'"
    await conn.execute(query=query)
    await conn.fetch(f"SELECT * FROM t WHERE {in_scope(key)}")
    await conn.fetch("SELECT " + ", ".join(["a", name]) + " FROM t")
    await conn.fetch(f"SELECT * FROM {'t' if key else name}")
"""
    assert violations_in(source) == [
        "store/example.py:11: fetch() query text uses key",
        "store/example.py:12: execute() query text uses key",
        "store/example.py:13: fetchrow() query text uses name",
        "store/example.py:14: fetchval() query text uses name.upper()",
        "store/example.py:16: execute() query text uses key",
        "store/example.py:17: fetch() query text uses key",
        "store/example.py:18: fetch() query text uses name",
        "store/example.py:19: fetch() query text uses name",
    ]


def test_the_scan_finds_values_a_builder_adds_to_its_sql() -> None:
    source = """
def lead_times_sql(carried):
    table, order = "deployments", "ORDER BY 1"
    if carried:
        return f"SELECT * FROM {table} WHERE {carried} {order}"
    return f"SELECT * FROM {table} WHERE team = '{TEAM.name}'"
"""
    assert violations_in(source) == [
        "store/example.py:6: lead_times_sql() returns SQL text using TEAM.name",
    ]


def test_every_allowed_expression_is_still_used() -> None:
    # An entry whose code changed would otherwise trust whatever next takes its name.
    used = set()
    for path in sorted(SERVICE.rglob("*.py")):
        scan = Scan(path)
        for node in ast.walk(scan.tree):
            if isinstance(node, ast.FormattedValue | ast.Attribute | ast.Name | ast.Call):
                key = (
                    scan.file,
                    ast.unparse(node.value if isinstance(node, ast.FormattedValue) else node),
                )
                if key in ALLOWED:
                    used.add(key)
    assert set(ALLOWED) - used == set()
