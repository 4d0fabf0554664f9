"""Writes of the detection lesson's "every person one by one" exercise: check a
pasted printout (and, if given, the loop's code) against the student's run, word
the findings in the printout's language and store the check as an
``ExerciseAttempt``. The diagnosis itself is pure: ``demos.lessons.exercise``
(the printout) and ``demos.lessons.code_checks`` (the code, read with ``ast``,
never run).
"""

from __future__ import annotations

from django.contrib.auth.base_user import AbstractBaseUser
from django.db import transaction
from django.utils import translation
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from demos.lessons import code_checks, exercise
from demos.models import DemoRun, ExerciseAttempt
from portal.lib.errors import BadInput

PEOPLE_EXERCISE = "people-one-by-one"
EXERCISE_PROBLEMS = {
    "nothing-to-crop": gettext_lazy(
        "This run found nobody, so there was nothing to crop: these lines did not "
        "come from a loop over this run. Pick a run with people in it."
    ),
    "not-this-run": gettext_lazy(
        "None of these boxes is in this run: run your loop on this run's boxes (the "
        "manifest in its ZIP) and paste exactly what it printed."
    ),
    "loop-index-zero": gettext_lazy(
        "The same box was printed %(times)d times: inside the loop you take a fixed "
        "box (boxes[0]) instead of the loop variable. Write `for box in boxes:` and "
        "use box."
    ),
    "loop-return": gettext_lazy(
        "Only person 1 was printed: the loop stops after its first turn. A `return` "
        "inside the loop ends the function at once (or there is no loop and the code "
        "takes boxes[0]). Return after the loop."
    ),
    "loop-print-after": gettext_lazy(
        "Only the last person was printed: the print (or the crop) comes after the "
        "loop, so it runs once, with the last box. Indent it into the loop."
    ),
    "loop-same-filename": gettext_lazy(
        "Every person was saved as %(file)s: each turn overwrites the file before. "
        'Put the number in the name, e.g. f"person_{number}.jpg".'
    ),
    "threshold-strict": gettext_lazy(
        "A person scoring exactly %(run).2f is missing: keep score >= threshold (at "
        "or above), not score > threshold."
    ),
    "threshold-mismatch": gettext_lazy(
        "Your threshold is %(yours).2f; this run used %(run).2f. Call your function "
        "with threshold=%(run).2f to print the same people as the demo."
    ),
    "threshold-low-count": gettext_lazy(
        "You printed fewer people than the demo shows: keep score >= the run's "
        "threshold (at or above, not above)."
    ),
    "threshold-high-count": gettext_lazy(
        "You printed more people than the demo shows: use the same threshold as "
        "the run."
    ),
    "sort-order": gettext_lazy(
        "Your numbering is not the demo's order: sort left to right by x1 (then y1) "
        "before numbering."
    ),
    "missing": gettext_lazy("Not printed: this person is missing from your output."),
    "extra": gettext_lazy("The demo has no person with this number."),
    "no-box": gettext_lazy("No box (x1, y1, x2, y2) on this line."),
    "no-crop": gettext_lazy("No crop shape on this line: print crop.shape."),
    "xy-order": gettext_lazy(
        "x and y are swapped: a numpy image is img[y1:y2, x1:x2] (rows first), "
        "and its shape is (height, width, 3)."
    ),
    "int-casts": gettext_lazy(
        "Not whole pixels: round with np.rint and cast with int() before slicing."
    ),
    "clipping": gettext_lazy(
        "Outside the image: clip x to [0, width] and y to [0, height] first "
        "(a negative index counts from the end)."
    ),
    "wrong-box": gettext_lazy("This box is not the demo's box for this person."),
    "crop-size": gettext_lazy(
        "The crop's size is not the box's size (y2 - y1, x2 - x1)."
    ),
}


def _problem_text(code: str, params: dict | None = None) -> dict:
    text = str(EXERCISE_PROBLEMS[code])
    return {"key": code, "text": text % params if params else text}


# What ast sees in the code, where the wording differs from the output's.
CODE_PROBLEMS = {
    "loop-index-zero": gettext_lazy(
        "Inside the loop you take a fixed element (boxes[0]) of the list you loop "
        "over: use the loop variable."
    ),
    "loop-return": gettext_lazy(
        "A `return` inside the loop ends the function after the first person: "
        "return after the loop."
    ),
    "loop-print-after": gettext_lazy(
        "The print (or the crop) comes after the loop: it runs once, with the last "
        "person. Indent it into the loop."
    ),
    "loop-same-filename": gettext_lazy(
        "The file name is the same on every turn, so each crop overwrites the one "
        "before: put the number in the name."
    ),
    "threshold-strict": gettext_lazy(
        "score > threshold drops a person scoring exactly the threshold: use >=."
    ),
}


def _code_findings(code: str) -> dict:
    found = code_checks.check_code(code)
    return {
        "parsed": found.parsed,
        "problems": [
            {
                "key": key,
                "text": str(CODE_PROBLEMS.get(key) or EXERCISE_PROBLEMS[key]),
                "line": found.line[key],
            }
            for key in found.problems
        ],
    }


@transaction.atomic
def _record_exercise_attempt(
    *, user: AbstractBaseUser, passed: bool, diagnosis: str
) -> ExerciseAttempt:
    attempt = ExerciseAttempt(
        user=user,
        exercise=PEOPLE_EXERCISE,
        step="pasted-output",
        passed=passed,
        diagnosis=diagnosis,
    )
    attempt.full_clean()
    attempt.save()
    return attempt


def check_people_exercise(
    *, user: AbstractBaseUser, run: DemoRun, output: str, code: str = ""
) -> dict:
    """Hold a student's printout against the run's boxes (matched by box) at the
    run's threshold, and store the check as an ``ExerciseAttempt``.

    ``code``, when given, is read with ``ast`` (never run) and its loop and
    indexing bugs are listed under ``code`` with their line numbers.
    A Korean printout ("사람 1: …", "1번 사람: …") is answered in Korean. An
    unreadable paste is stored too (diagnosis "unreadable-output") and raised, so
    the attempt is written on its own, not in a transaction around the check.
    """
    language = "ko" if exercise.is_korean(output) else translation.get_language()
    with translation.override(language):
        try:
            printed = exercise.parse_printed_people(output)
        except exercise.UnreadableOutput as exc:
            _record_exercise_attempt(
                user=user, passed=False, diagnosis="unreadable-output"
            )
            raise BadInput(str(exc)) from None
        report = exercise.check_people(
            printed,
            [
                exercise.RunPerson((d.x1, d.y1, d.x2, d.y2), d.score)
                for d in run.detections.all()
            ],
            threshold=run.score_threshold,
            width=run.image_width,
            height=run.image_height,
            korean=language == "ko",
        )
        body = {
            "run": str(run.public_id),
            "threshold": run.score_threshold,
            "width": run.image_width,
            "height": run.image_height,
            "passed": report.passed,
            "diagnosis": report.diagnosis,
            "language": language,
            "expected_count": report.expected_count,
            "printed_count": report.printed_count,
            "problems": [_problem_text(p.code, p.params) for p in report.problems],
            "code": _code_findings(code) if code.strip() else None,
            "people": [
                {
                    "number": check.number,
                    "printed_number": check.printed_number,
                    "ok": check.ok,
                    "expected_box": check.expected_box,
                    "expected_crop": check.expected_crop,
                    "printed_box": check.printed_box,
                    "printed_crop": check.printed_crop,
                    "problems": [_problem_text(code) for code in check.problems],
                }
                for check in report.people
            ],
        }
    _record_exercise_attempt(
        user=user, passed=report.passed, diagnosis=report.diagnosis
    )
    return body


# --- The in-browser exercise (demos/lessons/exercise_steps.py runs in Pyodide) ------

STEP_TITLES = {
    "worked": gettext_lazy("1. Worked example: crop and show box 0"),
    "loop": gettext_lazy("2. Fill in the blank: every box, one by one"),
    "filter": gettext_lazy("3. Keep only people above the threshold"),
    "clip": gettext_lazy("4. Whole pixels inside the photo"),
    "save": gettext_lazy("5. Sort, number and save each person"),
    "another-photo": gettext_lazy("6. The same on another photo"),
}
STEP_HELP = {
    "worked": gettext_lazy(
        "Run the code as it is. boxes holds the detector's raw rows (x1, y1, x2, y2, "
        "score, label), highest score first; img is your photo; show(crop) draws a "
        "crop below."
    ),
    "loop": gettext_lazy(
        "One blank: what does the loop go through? Every box should be cropped once "
        "(people and other things alike, for now)."
    ),
    "filter": gettext_lazy(
        "The detector also found things that are not people, and people it is unsure "
        "of. Skip a box unless its label is PERSON and its score is at least "
        "threshold (this run's)."
    ),
    "clip": gettext_lazy(
        "Some boxes go past the photo's edge, and their corners are floats. Round "
        "each corner and keep it inside the photo before slicing."
    ),
    "save": gettext_lazy(
        "Number the people from 1, left to right, and save each crop with "
        "save(crop, name) under a name of its own."
    ),
    "another-photo": gettext_lazy(
        "Put your loop from step 5 into the function save_people(img, boxes, "
        "threshold) and run it: here img, boxes and threshold belong to another "
        "photo, with its own raw boxes. A loop that works only on your first photo "
        "fails here."
    ),
}
# What the judge (exercise_steps.judge) found; {name} is filled in by the page.
STEP_PROBLEMS = {
    "error": gettext_lazy("Python stopped on line {line}: {error}"),
    "blank": gettext_lazy("Fill in the blank ____ first."),
    "no-crops": gettext_lazy("Your code showed no crop: call show(crop) in the loop."),
    "no-saves": gettext_lazy(
        "Nothing was saved: call save(crop, name) for each person."
    ),
    "not-a-box": gettext_lazy("{count} crops match no box of this run."),
    "xy-order": gettext_lazy(
        "x and y are swapped: an image is img[y1:y2, x1:x2] (rows first)."
    ),
    "int-casts": gettext_lazy(
        "The corners are floats, and an image cannot be sliced with floats: round "
        "them to whole pixels first (round or int)."
    ),
    "loop-index-zero": gettext_lazy(
        "The same box was cropped {times} times: inside the loop you take a fixed "
        "box (boxes[0]) instead of the loop variable."
    ),
    "loop-return": gettext_lazy(
        "Only the first box was cropped: the loop stops after its first turn (a "
        "return or break inside it?)."
    ),
    "loop-print-after": gettext_lazy(
        "Only the last box was cropped: the crop comes after the loop. Indent it "
        "into the loop."
    ),
    "loop-count": gettext_lazy(
        "You cropped {got} boxes; the loop should visit all {want}, once each."
    ),
    "label-filter": gettext_lazy(
        "Some crops are not people ({labels}): keep only label == PERSON (0 in "
        "COCO-80)."
    ),
    "threshold-low": gettext_lazy(
        "{count} crops score below this run's threshold {threshold}: skip a box "
        "whose score < threshold."
    ),
    "threshold-strict": gettext_lazy(
        "A person scoring exactly {threshold} is missing: keep score >= threshold, "
        "not score > threshold."
    ),
    "missing": gettext_lazy("{count} people the demo keeps are missing."),
    "duplicates": gettext_lazy("Some box was cropped twice."),
    "clipping": gettext_lazy(
        "{count} crops are empty or cut wrongly: a corner past the photo's edge gives "
        "a negative index, which counts from the end. Keep x in [0, width] and y in "
        "[0, height] (max and min)."
    ),
    "loop-same-filename": gettext_lazy(
        "Every crop was saved as {file}: each turn overwrites the file before. Put "
        "the person's number in the name (person_1.jpg, person_2.jpg, …)."
    ),
    "sort-order": gettext_lazy(
        "The files are not numbered left to right: sort the people by x1 before "
        "numbering."
    ),
    "numbering": gettext_lazy(
        "Each file name should carry the person's number, from 1, left to right."
    ),
    "timeout": gettext_lazy(
        "Your code ran for more than {seconds} seconds (an endless loop?) and was "
        "stopped."
    ),
}
STEP_DIAGNOSES = (
    frozenset(STEP_PROBLEMS)
    | frozenset(CODE_PROBLEMS)
    | {
        "clipping",
        "int-casts",
        "xy-order",
    }
)


def step_texts() -> dict:
    """The page's words for the in-browser exercise, in the active language."""
    return {
        "step": {key: str(text) for key, text in STEP_PROBLEMS.items()},
        "code": {
            key: str(CODE_PROBLEMS.get(key) or EXERCISE_PROBLEMS[key])
            for key in code_checks.ORDER
        },
    }


@transaction.atomic
def record_exercise_step(
    *, user: AbstractBaseUser, step: str, passed: bool, diagnosis: str
) -> ExerciseAttempt:
    """Store the browser's verdict on one step (the code ran in the student's
    browser; only the outcome reaches the server)."""
    if diagnosis and diagnosis not in STEP_DIAGNOSES:
        raise BadInput(_("Unknown diagnosis."))
    attempt = ExerciseAttempt(
        user=user,
        exercise=PEOPLE_EXERCISE,
        step=step,
        passed=passed,
        diagnosis="" if passed else diagnosis,
    )
    attempt.full_clean()
    attempt.save()
    return attempt
