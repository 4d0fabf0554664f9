"""/lessons/<slug>/notebook.ipynb: the lesson's code as a notebook download."""

from __future__ import annotations

import json

import nbformat
import pytest
from django.test import Client

from demos.lessons.services import load_lessons

pytestmark = pytest.mark.django_db


@pytest.fixture
def course(db) -> None:
    load_lessons()


def test_anyone_downloads_a_valid_notebook_of_the_lesson(
    client: Client, course: None
) -> None:
    response = client.get(
        "/lessons/convolution/notebook.ipynb", HTTP_ACCEPT_LANGUAGE="en"
    )
    assert response.status_code == 200
    assert response["Content-Type"] == "application/x-ipynb+json"
    assert response["Content-Disposition"] == (
        'attachment; filename="01-convolution.en.ipynb"'
    )
    notebook = nbformat.reads(response.content.decode(), as_version=4)
    nbformat.validate(notebook)
    assert notebook.cells[0].source.startswith("# Convolution")
    assert "http://testserver/lessons/convolution/" in notebook.cells[0].source
    assert any("F.conv2d" in cell.source for cell in notebook.cells)


def test_korean_visitors_get_the_korean_notebook(client: Client, course: None) -> None:
    response = client.get(
        "/lessons/training/notebook.ipynb", HTTP_ACCEPT_LANGUAGE="ko-KR,ko;q=0.9"
    )
    assert response.status_code == 200
    assert response["Content-Disposition"].endswith('filename="12-training.ko.ipynb"')
    notebook = json.loads(response.content)
    intro = "".join(notebook["cells"][0]["source"])
    assert "이 노트북에는 강의" in intro
    code = "".join("".join(cell["source"]) for cell in notebook["cells"])
    assert "StepLR(optimizer, step_size=7, gamma=0.1)" in code


def test_the_lesson_page_links_to_its_notebook(client: Client, course: None) -> None:
    body = client.get("/lessons/pooling/", HTTP_ACCEPT_LANGUAGE="ko").content.decode()
    assert 'href="/lessons/pooling/notebook.ipynb"' in body
    assert "노트북(.ipynb)으로 내려받기" in body


def test_unknown_lesson_has_no_notebook(client: Client, course: None) -> None:
    assert client.get("/lessons/no-such-lesson/notebook.ipynb").status_code == 404


def test_notebook_is_get_only(client: Client, course: None) -> None:
    assert client.post("/lessons/convolution/notebook.ipynb").status_code == 405
