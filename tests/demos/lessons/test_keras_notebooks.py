"""The Keras versions of the lessons' code (```` ```keras ```` fences): where the
bootcamp notes use Keras, the lesson has one, the page shows it as a tab beside the
PyTorch code, and the notebook ends with a Keras section marked as needing TensorFlow.

TensorFlow is not installed here, so the Keras cells are not run: they are parsed,
compared between the Korean and English lessons, and every Keras name they use must
be one the public ``tf.keras`` API exports (``KNOWN_KERAS_NAMES``, checked against
keras-team/keras ``keras/api/_tf_keras/keras/``: Keras 3, which TensorFlow 2.16+
serves as ``tf.keras``; all of them exist in Keras 2 as well).
"""

from __future__ import annotations

import ast

import pytest
from django.test import Client

from demos.lessons.notebooks import code_blocks
from demos.lessons.services import load_lessons
from tests.demos.lessons.test_notebooks import BY_SLUG, _shape, notebook_of

KERAS_LESSONS = ["draw-a-digit", "transfer-learning", "data-augmentation", "training"]
KNOWN_KERAS_NAMES = {
    "keras.Input",
    "keras.Sequential",
    "keras.applications.ResNet50",
    "keras.callbacks.EarlyStopping",
    "keras.callbacks.LearningRateScheduler",
    "keras.layers.BatchNormalization",
    "keras.layers.Conv2D",
    "keras.layers.Dense",
    "keras.layers.Dropout",
    "keras.layers.Flatten",
    "keras.layers.MaxPool2D",
    "keras.layers.RandomRotation",
    "keras.layers.RandomTranslation",
    "keras.layers.RandomZoom",
    "keras.optimizers.SGD",
    "keras.preprocessing.image.ImageDataGenerator",  # tf.keras only (legacy)
    "keras.utils.to_categorical",
}
ALLOWED_IMPORTS = {"numpy", "tensorflow", "tensorflow.keras", "sklearn.datasets"}


def keras_blocks(slug: str, lang: str) -> list[str]:
    body = BY_SLUG[slug].text(lang).body
    return [b.code for b in code_blocks(body) if b.language == "keras"]


def _dotted(node: ast.expr) -> str | None:
    parts = []
    while isinstance(node, ast.Attribute):
        parts.append(node.attr)
        node = node.value
    if isinstance(node, ast.Name):
        return ".".join([node.id, *reversed(parts)])
    return None


def used_keras_names(code: str) -> set[str]:
    """Every ``keras.X.Y`` / ``tf.keras.X.Y`` a cell calls or reads, as ``keras.X.Y``
    (the longest dotted name only: ``keras.layers.Dense``, not ``keras.layers``)."""
    tree = ast.parse(code)
    inner = {
        id(node.value) for node in ast.walk(tree) if isinstance(node, ast.Attribute)
    }
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute) and id(node) not in inner:
            dotted = _dotted(node)
            if dotted and dotted.startswith("tf.keras."):
                dotted = dotted[len("tf.") :]
            if dotted and dotted.startswith("keras."):
                names.add(dotted)
    return names


def test_every_lesson_that_writes_keras_code_has_a_keras_version() -> None:
    with_keras = sorted(
        slug for slug in BY_SLUG if any(keras_blocks(slug, lang) for lang in ("en",))
    )
    assert with_keras == sorted(KERAS_LESSONS)
    for slug, source in BY_SLUG.items():
        if "Keras" in source.text("en").body:  # the notes' Keras is discussed
            assert keras_blocks(slug, "en"), slug


@pytest.mark.parametrize("slug", KERAS_LESSONS)
def test_keras_code_parses_and_is_the_same_in_both_languages(slug: str) -> None:
    english, korean = keras_blocks(slug, "en"), keras_blocks(slug, "ko")
    assert len(english) == len(korean) >= 1
    for en, ko in zip(english, korean, strict=True):
        assert _shape(en) == _shape(ko)


@pytest.mark.parametrize("slug", KERAS_LESSONS)
def test_keras_code_uses_only_names_tf_keras_exports(slug: str) -> None:
    for code in keras_blocks(slug, "en"):
        used = used_keras_names(code)
        assert used, "a Keras block that uses no Keras?"
        assert used <= KNOWN_KERAS_NAMES, used - KNOWN_KERAS_NAMES
        imports = {
            node.module if isinstance(node, ast.ImportFrom) else alias.name
            for node in ast.walk(ast.parse(code))
            if isinstance(node, ast.Import | ast.ImportFrom)
            for alias in node.names
        }
        assert imports <= ALLOWED_IMPORTS, imports
        assert "torch" not in code


def test_the_name_check_catches_a_pytorch_spelling() -> None:
    assert used_keras_names("keras.layers.Conv2d(3, 3)") == {"keras.layers.Conv2d"}
    assert "keras.layers.Conv2d" not in KNOWN_KERAS_NAMES
    assert used_keras_names("tf.keras.layers.Dense(1)") == {"keras.layers.Dense"}


def test_the_notes_first_layer_is_in_lesson_5() -> None:
    (code,) = keras_blocks("draw-a-digit", "en")
    assert 'keras.layers.Conv2D(75, (3, 3), strides=1, padding="same"' in code
    assert "keras.Input(shape=(28, 28, 1))" in code


@pytest.mark.parametrize("lang", ["en", "ko"])
@pytest.mark.parametrize("slug", KERAS_LESSONS)
def test_the_notebook_ends_with_a_keras_section_that_needs_tensorflow(
    slug: str, lang: str
) -> None:
    cells = notebook_of(BY_SLUG[slug], lang).cells
    count = len(keras_blocks(slug, lang))
    section, keras_cells = cells[-count - 1], cells[-count:]
    assert section.cell_type == "markdown"
    assert section.source.startswith("## ")
    assert "pip install tensorflow" in section.source
    assert "NHWC" in section.source and "NCHW" in section.source
    assert "x.permute(0, 3, 1, 2)" in section.source
    needs = "# Needs TensorFlow" if lang == "en" else "# 필요한 것: TensorFlow"
    for cell in keras_cells:
        assert cell.cell_type == "code"
        assert cell.source.startswith(needs)
        ast.parse(cell.source)
    # The PyTorch cells come first and none of them needs TensorFlow.
    pytorch = [cell.source for cell in cells[: -count - 1] if cell.cell_type == "code"]
    assert pytorch and not any("tensorflow" in source for source in pytorch)


def test_lessons_without_keras_get_no_keras_section() -> None:
    cells = notebook_of(BY_SLUG["pooling"], "en").cells
    assert not any("Keras" in cell.source for cell in cells)


@pytest.mark.django_db
@pytest.mark.parametrize("lang", ["en", "ko"])
def test_the_lesson_page_ships_the_keras_code_for_its_tab(
    client: Client, lang: str
) -> None:
    load_lessons()
    page = client.get("/lessons/draw-a-digit/", HTTP_ACCEPT_LANGUAGE=lang)
    html = page.content.decode()
    code_section = html.split('data-testid="lesson-code"', 1)[1]
    python = code_section.index('class="language-python"')
    keras = code_section.index('class="language-keras"')
    assert python < keras  # the tab pairs the Keras block with the PyTorch one
    assert "keras.layers.Conv2D(75" in code_section
    note = "NHWC" if lang == "en" else "채널 마지막"
    assert note in html.split("data-label-keras-note=", 1)[1][:300]
