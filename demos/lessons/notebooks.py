"""A lesson's code as a Jupyter notebook (``/lessons/<slug>/notebook.ipynb``).

Pure module (nbformat, imported when a notebook is built, and the standard library;
never Django). The lesson's Markdown is the one home of its code: every
```` ```python ```` fence becomes a code cell, in order, under the heading of the
section it appears in, after a Markdown introduction. A ```` ```text ```` fence
that shows Keras becomes a Markdown cell (the notes' Keras version, to read beside
the PyTorch one). A ```` ```keras ```` fence is the Keras version of the code
before it (the lesson page shows the two as tabs); the notebook gathers these into
a closing "Keras" section of code cells marked as needing TensorFlow, with the
``pip install`` line and the NHWC / NCHW difference explained. An HTML comment
on the line just before a fence changes what happens to it (the lesson page never
shows these comments):

- ``<!-- notebook: skip -->``: an excerpt whose full version comes later; left out;
- ``<!-- notebook: needs internet -->`` (or ``needs data``, ``needs <anything>``):
  a code cell that says what it needs; the tests do not run it;
- ``<!-- notebook: portal -->``: code that runs only inside the portal's Django
  project; shown as a Markdown cell so "Run all" works in Colab (the tests run it
  inside Django).

Everything else (Keras cells aside: the tests parse them and check their Keras
names, they cannot run TensorFlow here) must run top to bottom in a fresh Python
with torch, torchvision, numpy and scikit-learn (what Colab provides);
``tests/demos/lessons/test_notebooks.py`` runs it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import nbformat

FENCE_OPEN = re.compile(r"^```(?P<lang>[\w+-]*)\s*$")
MARKER = re.compile(
    r"^<!--\s*notebook:\s*(?P<kind>skip|portal|needs\s+(?P<needs>[^>]*?))\s*-->\s*$"
)
HEADING = re.compile(r"^(?P<hashes>#{2,6})\s+(?P<text>.+?)\s*$")
KERAS = re.compile(r"keras|ImageDataGenerator", re.IGNORECASE)

INTRO = {
    "en": (
        "This notebook holds the code of the lesson [{title}]({url}), in the order "
        "the lesson shows it. It runs top to bottom in Google Colab or Jupyter with "
        "`torch`, `torchvision`, `numpy` and `scikit-learn` (Colab has them; "
        "elsewhere: `pip install torch torchvision scikit-learn`). Nothing is "
        "downloaded unless a cell says so.\n\n"
        "Read the lesson for the why; change the numbers here and run the cells again."
    ),
    "ko": (
        "이 노트북에는 강의 [{title}]({url})의 코드가 "
        "강의에 나오는 순서대로 들어 있습니다. Google Colab이나 Jupyter에서 "
        "`torch`, `torchvision`, `numpy`, `scikit-learn`만 "
        "있으면 위에서 아래로 실행됩니다(Colab에는 이미 있고, 다른 곳에서는 "
        "`pip install torch torchvision scikit-learn`). 셀에 적혀 있지 않으면 아무것도 "
        "내려받지 않습니다.\n\n"
        "이유는 강의에서 읽고, 여기서는 숫자를 바꿔 가며 셀을 다시 실행해 보세요."
    ),
}
NEEDS_NOTE = {
    "en": "# Needs {needs}: run this cell where that is available.",
    "ko": "# 필요한 것: {needs}. 그것이 있는 곳에서 실행하세요.",
}
PORTAL_NOTE = {
    "en": "This code runs inside the portal's Django project (for example in "
    "`python manage.py shell`), not in this notebook:",
    "ko": "이 코드는 이 노트북이 아니라 포털의 Django 프로젝트 안에서(예: "
    "`python manage.py shell`) 실행됩니다.",
}
KERAS_NEEDS = {
    "en": "# Needs TensorFlow (Keras): Colab has it; elsewhere pip install tensorflow.",
    "ko": "# 필요한 것: TensorFlow(Keras). Colab에는 있고, 다른 곳에서는 "
    "pip install tensorflow.",
}
KERAS_SECTION = {
    "en": (
        "## The same in Keras (TensorFlow)\n\n"
        "The bootcamp notes write this code in Keras. The cells below need "
        "TensorFlow: Colab has it; elsewhere run `pip install tensorflow` first. "
        "Each cell runs on its own (it makes its own data), so you can run this "
        "section without the PyTorch cells above.\n\n"
        "**Channel order.** Keras keeps an image batch **channels last**, NHWC "
        "(batch, height, width, channels: `(N, 28, 28, 1)`); PyTorch keeps it "
        "**channels first**, NCHW (`(N, 1, 28, 28)`). So Keras's "
        "`input_shape=(28, 28, 1)` is PyTorch's `(1, 28, 28)`, and a Keras-shaped "
        "array goes into a PyTorch model as `x.permute(0, 3, 1, 2)` (or NumPy's "
        "`x.transpose(0, 3, 1, 2)`). Keras's `Conv2D(75, (3, 3))` names only the "
        "output channels; PyTorch's `nn.Conv2d(1, 75, 3)` names both."
    ),
    "ko": (
        "## 같은 내용을 Keras(TensorFlow)로\n\n"
        "부트캠프 노트는 이 코드를 Keras로 씁니다. "
        "아래 셀에는 TensorFlow가 필요합니다. Colab에는 이미 있고, "
        "다른 곳에서는 먼저 `pip install tensorflow`를 실행하세요. "
        "셀마다 데이터를 직접 만들므로 위의 PyTorch 셀 없이 "
        "이 부분만 실행해도 됩니다.\n\n"
        "**채널 순서.** Keras는 이미지 배치를 **채널 마지막**, "
        "즉 NHWC(배치, 높이, 너비, 채널: `(N, 28, 28, 1)`)로 두고, "
        "PyTorch는 **채널 먼저**, 즉 NCHW"
        "(`(N, 1, 28, 28)`)로 둡니다. 그래서 Keras의 `input_shape=(28, 28, 1)`은 "
        "PyTorch의 `(1, 28, 28)`이고, Keras 모양의 배열은 `x.permute(0, 3, 1, 2)`"
        "(NumPy는 `x.transpose(0, 3, 1, 2)`)로 바꿔 PyTorch 모델에 넣습니다. Keras의 "
        "`Conv2D(75, (3, 3))`는 출력 채널만 적고, PyTorch의 `nn.Conv2d(1, 75, 3)`는 "
        "둘 다 적습니다."
    ),
}
KERAS_NOTE = {
    "en": "The same in Keras (as the bootcamp notes write it; not run here):",
    "ko": "같은 내용을 Keras로(부트캠프 노트의 방식; 여기서는 실행하지 않음):",
}


@dataclass(frozen=True)
class CodeBlock:
    """One fenced block of a lesson body, with what the notebook does with it."""

    code: str
    language: str  # the fence's language: "python" or "text"
    heading: str  # the heading of the section it appears in ("" before any)
    kind: str  # "run" | "needs" | "portal" | "skip" | "keras"
    # ("keras" with language "keras": a Keras code cell; with "text": Markdown)
    needs: str = ""  # for kind "needs": what the cell needs ("internet", "data")


def code_blocks(body: str) -> list[CodeBlock]:
    """The body's ``python`` fences and its Keras ``text`` fences, in order.

    >>> [b.kind for b in code_blocks("## A\\n```python\\nx = 1\\n```\\n")]
    ['run']
    """
    blocks: list[CodeBlock] = []
    heading, marker = "", None
    fence: list[str] | None = None
    language = ""
    for line in body.splitlines():
        if fence is not None:
            if line.strip() == "```":
                blocks.extend(_block("\n".join(fence), language, heading, marker))
                fence, marker = None, None
            else:
                fence.append(line)
            continue
        if opened := FENCE_OPEN.match(line.strip()):
            fence, language = [], opened["lang"].lower()
        elif found := MARKER.match(line.strip()):
            marker = found
        elif found := HEADING.match(line):
            heading, marker = found["text"], None
        elif line.strip():
            marker = None  # a marker applies to the fence right after it only
    return blocks


def _block(
    code: str, language: str, heading: str, marker: re.Match[str] | None
) -> list[CodeBlock]:
    if language == "python":
        if marker is None:
            return [CodeBlock(code, language, heading, "run")]
        if marker["needs"] is not None:
            return [CodeBlock(code, language, heading, "needs", marker["needs"])]
        return [CodeBlock(code, language, heading, marker["kind"])]
    if language == "keras":
        skipped = marker is not None and marker["kind"] == "skip"
        return [CodeBlock(code, language, heading, "skip" if skipped else "keras")]
    if language == "text" and KERAS.search(code):
        return [CodeBlock(code, language, heading, "keras")]
    return []


def build_notebook(
    *, title: str, summary: str, body: str, url: str, lang: str = "en"
) -> nbformat.NotebookNode:
    """The lesson's notebook (nbformat 4), validated; ``lang`` is "en" or "ko"."""
    # Imported here: loading the URLconf should not pay for nbformat and jsonschema.
    import nbformat
    from nbformat import v4

    lang = lang if lang in INTRO else "en"
    intro = f"# {title}\n\n"
    if summary:
        intro += f"*{summary}*\n\n"
    cells = [v4.new_markdown_cell(intro + INTRO[lang].format(title=title, url=url))]
    heading = ""
    keras_blocks = []
    for block in code_blocks(body):
        if block.kind == "skip":
            continue
        if block.language == "keras":
            keras_blocks.append(block)  # gathered into the closing Keras section
            continue
        if block.heading and block.heading != heading:
            heading = block.heading
            cells.append(v4.new_markdown_cell(f"## {heading}"))
        if block.kind == "run":
            cells.append(v4.new_code_cell(block.code))
        elif block.kind == "needs":
            note = NEEDS_NOTE[lang].format(needs=block.needs)
            cells.append(v4.new_code_cell(f"{note}\n{block.code}"))
        elif block.kind == "portal":
            shown = f"{PORTAL_NOTE[lang]}\n\n```python\n{block.code}\n```"
            cells.append(v4.new_markdown_cell(shown))
        else:  # keras
            shown = f"{KERAS_NOTE[lang]}\n\n```python\n{block.code}\n```"
            cells.append(v4.new_markdown_cell(shown))
    if keras_blocks:
        cells.append(v4.new_markdown_cell(KERAS_SECTION[lang]))
        for block in keras_blocks:
            cells.append(v4.new_code_cell(f"{KERAS_NEEDS[lang]}\n{block.code}"))
    notebook = v4.new_notebook(
        cells=cells,
        metadata={
            "kernelspec": {
                "name": "python3",
                "display_name": "Python 3",
                "language": "python",
            },
            "language_info": {"name": "python"},
        },
    )
    nbformat.validate(notebook)
    return notebook


def notebook_json(**kwargs: str) -> str:
    """``build_notebook(**kwargs)`` as the text of an ``.ipynb`` file."""
    import nbformat

    return nbformat.writes(build_notebook(**kwargs))
