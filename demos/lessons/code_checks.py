"""The "people one by one" exercise's code, read (never run) with Python's ``ast``:
the loop and indexing bugs a student's code has, before any output exists.

Pure module (``ast`` and ``re`` only; never Django), written so that the same file
can later run unchanged in the browser under Pyodide. ``check_code`` parses the
source and returns the stable codes of ``exercise.PROBLEM_CODES`` it finds:

- ``loop-index-zero``: inside ``for box in boxes:`` the body indexes ``boxes[0]``
  (a fixed element of the list being looped over);
- ``loop-return``: a ``return`` inside the loop body;
- ``loop-print-after``: the ``print`` (or the crop) comes after the loop and uses
  a name the loop set;
- ``loop-same-filename``: a save call inside the loop writes a constant file name;
- ``xy-order``: a crop sliced ``img[x1:x2, y1:y2]``;
- ``int-casts``: the crop's bounds come straight from a box, never through
  ``int()`` / ``round`` / ``astype``;
- ``clipping``: nothing keeps the bounds inside the image (no ``clip``, ``max``
  or ``min``);
- ``threshold-strict``: ``score > threshold`` where ``>=`` was meant.

Parsing is bounded (``MAX_CODE`` characters); code that does not parse gives
``SyntaxError``-free ``CodeReport(parsed=False)`` so the caller can say so.
"""

from __future__ import annotations

import ast
import re
from dataclasses import dataclass, field

MAX_CODE = 8_000
SAVE_CALLS = {"imwrite", "imsave", "save", "savefig", "write_png", "save_image"}
CASTS = {"int", "round", "astype", "rint", "floor", "ceil", "to", "long", "tolist"}
CLIPS = {"clip", "clamp", "max", "min", "clip_boxes_to_image"}
SCORE_NAME = re.compile(r"score|conf|prob", re.IGNORECASE)
THRESHOLD_NAME = re.compile(r"thr|threshold|min_score|cutoff", re.IGNORECASE)


@dataclass(frozen=True)
class CodeReport:
    parsed: bool
    problems: list[str] = field(default_factory=list)  # codes, most telling first
    line: dict[str, int] = field(default_factory=dict)  # code -> first line number


def _names(node: ast.AST) -> set[str]:
    return {n.id for n in ast.walk(node) if isinstance(n, ast.Name)}


def _call_name(call: ast.Call) -> str:
    func = call.func
    if isinstance(func, ast.Attribute):
        return func.attr
    if isinstance(func, ast.Name):
        return func.id
    return ""


def _is_constant_index(node: ast.AST) -> bool:
    return isinstance(node, ast.Constant) and isinstance(node.value, int)


def _body_nodes(loop: ast.For) -> list[ast.AST]:
    """Every node inside the loop body, not inside a nested function or class."""
    found: list[ast.AST] = []
    stack: list[ast.AST] = list(loop.body)
    while stack:
        node = stack.pop()
        found.append(node)
        if isinstance(
            node, ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda | ast.ClassDef
        ):
            continue
        stack.extend(ast.iter_child_nodes(node))
    return found


def _crop_slices(node: ast.AST) -> list[tuple[ast.Subscript, ast.Slice, ast.Slice]]:
    """``img[a:b, c:d]`` subscripts (two slices) under ``node``."""
    crops = []
    for sub in ast.walk(node):
        if not isinstance(sub, ast.Subscript) or not isinstance(sub.slice, ast.Tuple):
            continue
        parts = sub.slice.elts
        if len(parts) >= 2 and all(isinstance(p, ast.Slice) for p in parts[:2]):
            crops.append((sub, parts[0], parts[1]))
    return crops


def _first_letter(node: ast.AST | None) -> str:
    if isinstance(node, ast.Name):
        return node.id[:1].lower()
    if isinstance(node, ast.Call) and node.args:
        return _first_letter(node.args[0])
    return ""


class _Finder:
    def __init__(self) -> None:
        self.line: dict[str, int] = {}

    def add(self, code: str, node: ast.AST) -> None:
        self.line.setdefault(code, getattr(node, "lineno", 0))

    def loop(self, loop: ast.For, siblings: list[ast.stmt]) -> None:
        iterable = _names(loop.iter)
        inside = _body_nodes(loop)
        for node in inside:
            if (
                isinstance(node, ast.Subscript)
                and isinstance(node.value, ast.Name)
                and node.value.id in iterable
                and _is_constant_index(node.slice)
            ):
                self.add("loop-index-zero", node)
            if isinstance(node, ast.Return):
                self.add("loop-return", node)
            if (
                isinstance(node, ast.Call)
                and _call_name(node) in SAVE_CALLS
                and node.args
                and isinstance(node.args[0], ast.Constant)
                and isinstance(node.args[0].value, str)
            ):
                self.add("loop-same-filename", node)
        set_in_loop = _names(loop.target) | {
            n.id
            for n in inside
            if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Store)
        }
        after = siblings[siblings.index(loop) + 1 :]
        for statement in after:
            if isinstance(statement, ast.For):
                continue  # collect, then a second loop over the kept boxes: fine
            uses_loop = _names(statement) & set_in_loop
            prints = any(
                isinstance(n, ast.Call)
                and _call_name(n) in {"print", "imshow", "display"}
                for n in ast.walk(statement)
            )
            if uses_loop and (prints or _crop_slices(statement)):
                self.add("loop-print-after", statement)
                break

    def crops(self, tree: ast.AST) -> None:
        casts = any(
            isinstance(n, ast.Call) and _call_name(n) in CASTS for n in ast.walk(tree)
        )
        clips = any(
            isinstance(n, ast.Call) and _call_name(n) in CLIPS for n in ast.walk(tree)
        )
        for sub, rows, cols in _crop_slices(tree):
            if _first_letter(rows.lower) == "x" and _first_letter(cols.lower) == "y":
                self.add("xy-order", sub)
            if not casts:
                self.add("int-casts", sub)
            if not clips:
                self.add("clipping", sub)

    def comparisons(self, tree: ast.AST) -> None:
        for node in ast.walk(tree):
            if not isinstance(node, ast.Compare) or len(node.ops) != 1:
                continue
            left, right, op = node.left, node.comparators[0], node.ops[0]
            left_names, right_names = _names(left), _names(right)
            # Keeping "score > threshold", or skipping "score <= threshold", drops
            # the boxes exactly at the threshold (threshold < / >= score: swapped).
            if isinstance(op, ast.Lt | ast.GtE):
                left_names, right_names = right_names, left_names
            elif not isinstance(op, ast.Gt | ast.LtE):
                continue
            if any(SCORE_NAME.search(n) for n in left_names) and any(
                THRESHOLD_NAME.search(n) for n in right_names
            ):
                self.add("threshold-strict", node)


def _loops_with_siblings(tree: ast.AST) -> list[tuple[ast.For, list[ast.stmt]]]:
    found = []
    for node in ast.walk(tree):
        for name in ("body", "orelse", "finalbody"):
            statements = getattr(node, name, None)
            if isinstance(statements, list):
                found += [(s, statements) for s in statements if isinstance(s, ast.For)]
    return found


ORDER = (
    "loop-index-zero",
    "loop-return",
    "loop-print-after",
    "loop-same-filename",
    "xy-order",
    "int-casts",
    "clipping",
    "threshold-strict",
)


def check_code(source: str) -> CodeReport:
    """The bugs ``source`` shows, most telling first (see the module docstring).

    >>> check_code("for box in boxes:\\n    x1, y1, x2, y2 = boxes[0]\\n").problems
    ['loop-index-zero']
    """
    if len(source) > MAX_CODE:
        return CodeReport(parsed=False)
    try:
        tree = ast.parse(source)
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return CodeReport(parsed=False)
    finder = _Finder()
    for loop, siblings in _loops_with_siblings(tree):
        finder.loop(loop, siblings)
    finder.crops(tree)
    finder.comparisons(tree)
    problems = [code for code in ORDER if code in finder.line]
    return CodeReport(True, problems, {code: finder.line[code] for code in problems})
