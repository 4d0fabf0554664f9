"""The in-browser "people one by one" exercise: its steps, a stand-in for the photo,
and the judge that compares the crops a student's code made with the demo's people.

Pure module (``json``, ``sys``, ``io``, ``traceback`` only; never Django,
never numpy): the page ships this file to a Web Worker where Pyodide runs it, and
``run_step`` executes the **student's** code there, in the student's browser. The
server only imports it to render the starter code and to test the judge.

The student's code sees:

- ``img``: the run's photo as a stand-in for a numpy ``(height, width, 3)`` array:
  ``img.shape`` and two-slice indexing ``img[y1:y2, x1:x2]`` with numpy's slice
  rules (a negative index counts from the end, a stop past the edge is cut at the
  edge, float bounds raise ``TypeError``). A crop remembers its rectangle; the page
  draws it from the real photo.
- ``boxes``: the detector's raw rows ``[x1, y1, x2, y2, score, label]`` (floats,
  pixels of the upright photo; ``label`` a COCO-80 number), like YOLOv5's
  ``results.xyxy[0]``, highest score first.
- ``names`` (COCO-80, ``names[0] == "person"``), ``PERSON = 0``, ``threshold``
  (the run's), ``show(crop, title="")`` and ``save(crop, filename)``.

``judge`` matches crops to boxes **by rectangle**, never by order, and returns the
stable codes of what went wrong; the page words them in its language.
"""

from __future__ import annotations

import io
import json
import sys
import traceback
from dataclasses import dataclass, field

PERSON = 0
TOLERANCE = 1  # px: int() and round() may differ by one from the demo's box
BLANK = "____"
MAX_CROPS = 500
STEPS = ("worked", "loop", "filter", "clip", "save", "another-photo")
# Steps whose crops are the saved ones (judged alike; the last on another photo).
SAVING_STEPS = ("save", "another-photo")

STARTER = {
    "worked": """\
# The detector's raw output, one row per box, like YOLOv5's results.xyxy[0]:
# x1, y1, x2, y2 (pixels, floats), score, label (COCO-80: 0 is person)
print(len(boxes), "boxes; the first:", boxes[0])

x1, y1, x2, y2, score, label = boxes[0]
crop = img[int(y1):int(y2), int(x1):int(x2)]  # rows (y) first, then columns (x)
print("box 0:", names[int(label)], round(score, 2), crop.shape)
show(crop, "box 0")
""",
    "loop": """\
for box in ____:
    x1, y1, x2, y2, score, label = box
    crop = img[int(y1):int(y2), int(x1):int(x2)]
    print(names[int(label)], round(score, 2), crop.shape)
    show(crop, names[int(label)])
""",
    "filter": """\
for box in boxes:
    x1, y1, x2, y2, score, label = box
    # Keep only people (label == PERSON) scoring at least threshold:
    # skip every other box with an if and continue.

    crop = img[int(y1):int(y2), int(x1):int(x2)]
    show(crop, f"{names[int(label)]} {score:.2f}")
""",
    "clip": """\
height, width = img.shape[:2]
for box in boxes:
    x1, y1, x2, y2, score, label = box
    if label != PERSON or score < threshold:
        continue
    # Whole pixels inside the photo: 0 <= x <= width, 0 <= y <= height.
    x1, y1, x2, y2 = int(x1), int(y1), int(x2), int(y2)

    crop = img[y1:y2, x1:x2]
    show(crop, f"{x1}, {y1}, {x2}, {y2}")
""",
    "save": """\
height, width = img.shape[:2]
people = []
for x1, y1, x2, y2, score, label in boxes:
    if label != PERSON or score < threshold:
        continue
    x1, x2 = (min(max(round(v), 0), width) for v in (x1, x2))
    y1, y2 = (min(max(round(v), 0), height) for v in (y1, y2))
    people.append((x1, y1, x2, y2))

# Sort left to right, number from 1, save each person under a name of its own.
for x1, y1, x2, y2 in people:
    crop = img[y1:y2, x1:x2]
    save(crop, "person.jpg")
""",
    "another-photo": """\
def save_people(img, boxes, threshold):
    # Put your loop from step 5 here, indented once. It may use only these three
    # arguments (and PERSON, names, save), so that it works on any photo.
    pass


# Here img, boxes and threshold are another photo's, with its own raw boxes.
save_people(img, boxes, threshold)
""",
}

# Step 2's Parsons mode (for a student who freezes before an empty cell): the
# lines of the loop, in order, and two that look right and are not.
PARSONS = {
    "loop": {
        "lines": (
            "for box in boxes:",
            "    x1, y1, x2, y2, score, label = box",
            "    crop = img[int(y1):int(y2), int(x1):int(x2)]",
            "    show(crop, names[int(label)])",
        ),
        "distractors": (
            "    x1, y1, x2, y2, score, label = boxes[0]",
            "show(crop, names[int(label)])",
        ),
    },
}

# The code problems (code_checks.ORDER) worth saying at each step: the clipping
# and file-name findings only once the step asks for them.
CODE_PROBLEMS_BY_STEP = {
    "worked": (),
    "loop": ("loop-index-zero", "loop-return", "loop-print-after", "xy-order"),
    "filter": (
        "loop-index-zero",
        "loop-return",
        "loop-print-after",
        "xy-order",
        "threshold-strict",
    ),
    "clip": (
        "loop-index-zero",
        "loop-return",
        "loop-print-after",
        "xy-order",
        "int-casts",
        "clipping",
        "threshold-strict",
    ),
    "save": (
        "loop-index-zero",
        "loop-return",
        "loop-print-after",
        "loop-same-filename",
        "xy-order",
        "int-casts",
        "clipping",
        "threshold-strict",
    ),
}
CODE_PROBLEMS_BY_STEP["another-photo"] = CODE_PROBLEMS_BY_STEP["save"]

Rect = tuple[int, int, int, int]


class Crop:
    """``img[y1:y2, x1:x2]`` of the stand-in: its rectangle and numpy's shape."""

    def __init__(self, x1: int, y1: int, x2: int, y2: int) -> None:
        self.x1, self.y1, self.x2, self.y2 = x1, y1, x2, y2

    @property
    def rect(self) -> Rect:
        return (self.x1, self.y1, self.x2, self.y2)

    @property
    def shape(self) -> tuple[int, int, int]:
        return (max(self.y2 - self.y1, 0), max(self.x2 - self.x1, 0), 3)

    @property
    def is_empty(self) -> bool:
        return self.shape[0] == 0 or self.shape[1] == 0

    def __repr__(self) -> str:
        return f"<crop of shape {self.shape}>"


class Photo:
    """The photo as code sees a numpy image of shape ``(height, width, 3)``."""

    def __init__(self, width: int, height: int) -> None:
        self.width, self.height = width, height

    @property
    def shape(self) -> tuple[int, int, int]:
        return (self.height, self.width, 3)

    def __len__(self) -> int:
        return self.height

    def __getitem__(self, key: object) -> Crop:
        if not isinstance(key, tuple):
            key = (key,)
        rows = key[0] if key else slice(None)
        cols = key[1] if len(key) > 1 else slice(None)
        if not isinstance(rows, slice) or not isinstance(cols, slice):
            raise TypeError(
                "this exercise's image takes slices: img[y1:y2, x1:x2] "
                "(a single row or pixel is not a person)"
            )
        # slice.indices: numpy's rules for basic slicing (negative from the end,
        # stops cut at the edge; floats raise TypeError like numpy does).
        y1, y2, _ = rows.indices(self.height)
        x1, x2, _ = cols.indices(self.width)
        return Crop(x1, y1, x2, y2)


@dataclass
class Events:
    shown: list[dict] = field(default_factory=list)
    saved: list[dict] = field(default_factory=list)


def _crop_dict(crop: object, title: object) -> dict:
    if not isinstance(crop, Crop):
        raise TypeError("show() and save() take a crop: img[y1:y2, x1:x2]")
    return {"rect": list(crop.rect), "shape": list(crop.shape), "title": str(title)}


def run_code(source: str, data: dict) -> dict:
    """Run the student's ``source`` on ``data`` (the exercise API's JSON): what it
    printed, the crops it showed and saved, and the error that stopped it."""
    events = Events()

    def show(crop: object, title: object = "") -> None:
        if len(events.shown) >= MAX_CROPS:
            raise RuntimeError(f"more than {MAX_CROPS} crops")
        events.shown.append(_crop_dict(crop, title))

    def save(crop: object, filename: object) -> None:
        if len(events.saved) >= MAX_CROPS:
            raise RuntimeError(f"more than {MAX_CROPS} crops")
        events.saved.append(_crop_dict(crop, "") | {"name": str(filename)})

    names = [""] * 80
    for d in data["detections"]:
        names[d["label_id"]] = d["label"]
    names[PERSON] = "person"
    scope = {
        "__name__": "__main__",
        "img": Photo(data["width"], data["height"]),
        "boxes": [[*d["box"], d["score"], d["label_id"]] for d in data["detections"]],
        "names": names,
        "PERSON": PERSON,
        "threshold": data["threshold"],
        "show": show,
        "save": save,
    }
    printed = io.StringIO()
    error = None
    stdout = sys.stdout
    sys.stdout = printed
    try:
        exec(compile(source, "<your code>", "exec"), scope)  # in the browser only
    except Exception as exc:  # the student's error, reported to the student
        line = None
        for frame in traceback.extract_tb(exc.__traceback__):
            if frame.filename == "<your code>":
                line = frame.lineno
        if isinstance(exc, SyntaxError):
            line = exc.lineno
        error = {"type": type(exc).__name__, "message": str(exc), "line": line}
    finally:
        sys.stdout = stdout
    return {
        "printed": printed.getvalue()[-20_000:],
        "shown": events.shown,
        "saved": events.saved,
        "error": error,
    }


# --- The judge ------------------------------------------------------------------


def _clipped(box: list[float], width: int, height: int) -> tuple[float, ...]:
    x1, y1, x2, y2 = box
    return (
        min(max(x1, 0), width),
        min(max(y1, 0), height),
        min(max(x2, 0), width),
        min(max(y2, 0), height),
    )


def _numpy_rect(box: list[float], width: int, height: int) -> Rect:
    """What ``img[int(y1):int(y2), int(x1):int(x2)]`` gives, negatives and all."""
    x1, y1, x2, y2 = (int(v) for v in box)
    top, bottom, _ = slice(y1, y2).indices(height)
    left, right, _ = slice(x1, x2).indices(width)
    return (left, top, right, bottom)


def _near(rect: Rect | list[int], box: tuple[float, ...]) -> bool:
    return all(abs(a - b) <= TOLERANCE for a, b in zip(rect, box, strict=True))


def _source(rect: list[int], rows: list[dict], width: int, height: int) -> int | None:
    """The raw box a crop was cut from: by its rectangle (clipped within a pixel,
    or exactly what numpy gives for the unclipped box), never by its place."""
    for index, row in enumerate(rows):
        if _near(rect, _clipped(row["box"], width, height)):
            return index
    for index, row in enumerate(rows):
        if tuple(rect) == _numpy_rect(row["box"], width, height):
            return index
    return None


def _problem(code: str, **params: object) -> dict:
    return {"code": code, "params": params}


@dataclass
class Verdict:
    passed: bool
    problems: list[dict]
    crops: list[dict]  # each shown/saved crop with its source box (or None)

    @property
    def diagnosis(self) -> str:
        return "" if self.passed or not self.problems else self.problems[0]["code"]

    def as_dict(self) -> dict:
        return {
            "passed": self.passed,
            "diagnosis": self.diagnosis,
            "problems": self.problems,
            "crops": self.crops,
        }


def _is_person(row: dict) -> bool:
    return row["label_id"] == PERSON


def _kept(rows: list[dict], threshold: float) -> list[int]:
    return [i for i, r in enumerate(rows) if _is_person(r) and r["score"] >= threshold]


def _loop_problems(sources: list[int | None], wanted: list[int]) -> list[dict]:
    """The loop bugs, seen in the crops: the same box each turn, or one crop where
    the step wants several (the first box: the loop stopped; the last: the crop
    came after the loop)."""
    found = [s for s in sources if s is not None]
    if len(found) > 1 and len(set(found)) == 1:
        return [_problem("loop-index-zero", times=len(found))]
    if len(sources) == 1 and len(wanted) > 1 and found:
        if found[0] == wanted[0] or found[0] == 0:
            return [_problem("loop-return")]
        if found[0] == wanted[-1]:
            return [_problem("loop-print-after")]
    return []


def _filter_problems(
    sources: list[int], rows: list[dict], threshold: float
) -> list[dict]:
    problems = []
    taken = set(sources)
    others = sorted({rows[s]["label"] for s in taken if not _is_person(rows[s])})
    if others:
        problems.append(_problem("label-filter", labels=", ".join(others)))
    low = [s for s in taken if _is_person(rows[s]) and rows[s]["score"] < threshold]
    if low:
        problems.append(
            _problem("threshold-low", count=len(low), threshold=f"{threshold:.2f}")
        )
    missing = [i for i in _kept(rows, threshold) if i not in taken]
    if missing:
        exact = [i for i in missing if abs(rows[i]["score"] - threshold) < 1e-9]
        if exact:
            problems.append(_problem("threshold-strict", threshold=f"{threshold:.2f}"))
        else:
            problems.append(_problem("missing", count=len(missing)))
    return problems


def _first_error(run: dict) -> list[dict]:
    error = run["error"]
    if not error:
        return []
    if error["type"] == "TypeError" and "slice indices" in error["message"]:
        return [_problem("int-casts", line=error["line"])]
    if error["type"] == "NameError" and BLANK in error["message"]:
        return [_problem("blank")]
    return [
        _problem(
            "error",
            line=error["line"] or "?",
            error=f"{error['type']}: {error['message']}"[:300],
        )
    ]


def _has_number(name: str, number: int) -> bool:
    """``person_3.jpg``, ``사람03.png``: the number is in the name (from 1)."""
    runs = "".join(c if c.isdecimal() and c.isascii() else " " for c in name)
    return number in {int(n) for n in runs.split()}


def judge(step: str, run: dict, data: dict) -> Verdict:
    """Compare what the student's code did at ``step`` (``run_code``'s result) with
    what the step asks for on this run (``data``: the exercise API's JSON)."""
    if step not in STEPS:
        raise ValueError(f"no step {step!r}")
    rows = data["detections"]
    width, height, threshold = data["width"], data["height"], data["threshold"]
    saving = step in SAVING_STEPS
    made = run["saved"] if saving else run["shown"]
    sources = [_source(c["rect"], rows, width, height) for c in made]
    crops = [
        c | {"source": s, "label": None if s is None else rows[s]["label"]}
        for c, s in zip(made, sources, strict=True)
    ]
    problems = _first_error(run)
    if problems:
        return Verdict(False, problems, crops)
    if not made:
        return Verdict(False, [_problem("no-saves" if saving else "no-crops")], crops)
    unmatched = [c for c, s in zip(made, sources, strict=True) if s is None]
    swapped = [
        c
        for c in unmatched
        if _source(
            [c["rect"][1], c["rect"][0], c["rect"][3], c["rect"][2]],
            rows,
            width,
            height,
        )
        is not None
    ]
    if swapped:
        return Verdict(False, [_problem("xy-order")], crops)
    if unmatched:
        problems.append(_problem("not-a-box", count=len(unmatched)))

    if step == "worked":
        return Verdict(not problems, problems, crops)
    wanted = list(range(len(rows))) if step == "loop" else _kept(rows, threshold)
    problems += _loop_problems(sources, wanted)
    if problems:
        return Verdict(False, problems, crops)
    found = [s for s in sources if s is not None]
    if step == "loop":
        if sorted(found) != list(range(len(rows))):
            problems.append(_problem("loop-count", got=len(found), want=len(rows)))
        return Verdict(not problems, problems, crops)

    problems += _filter_problems(found, rows, threshold)
    if len(found) != len(set(found)):
        problems.append(_problem("duplicates"))
    if problems or step == "filter":
        return Verdict(not problems, problems, crops)

    cut = [
        c
        for c, s in zip(made, sources, strict=True)
        if s is not None
        and not _near(c["rect"], _clipped(rows[s]["box"], width, height))
    ]
    if cut:
        problems.append(_problem("clipping", count=len(cut)))
    if problems or step == "clip":
        return Verdict(not problems, problems, crops)

    names = [c["name"] for c in made]
    if len(set(names)) < len(names):
        repeated = max(set(names), key=names.count)
        problems.append(_problem("loop-same-filename", file=repeated))
    corners = [c["rect"][:2] for c in made]
    if corners != sorted(corners):
        problems.append(_problem("sort-order"))
    elif not problems and not all(
        _has_number(name, number) for number, name in enumerate(names, start=1)
    ):
        problems.append(_problem("numbering"))
    return Verdict(not problems, problems, crops)


def run_step(step: str, source: str, data_json: str) -> str:
    """The worker's entry point: run, judge, answer in JSON."""
    data = json.loads(data_json)
    if BLANK in source and step == "loop":
        run: dict = {"printed": "", "shown": [], "saved": [], "error": None}
        verdict = Verdict(False, [_problem("blank")], [])
    else:
        run = run_code(source, data)
        verdict = judge(step, run, data)
    return json.dumps({"run": run} | verdict.as_dict())
