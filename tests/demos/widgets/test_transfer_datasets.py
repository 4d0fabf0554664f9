"""Where a transfer run's images come from: an instructor's class dataset (uploaded
in the admin, checked like a student's ZIP) or the student's photos per class; the
runs in the admin; deleting a run or a dataset removes its files."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

import pytest
from django.core.cache import cache
from django.test import Client

from demos.models import ClassDataset, TransferRun
from demos.widgets import transfer_datasets, transfer_runs
from tests.demos.widgets.test_transfer_runs import cats_vs_planes, crops, upload
from tests.factories import make_cohort, make_student_in, make_user

pytestmark = pytest.mark.django_db
RUNS = "/api/v1/transfer-runs/"
ADD = "/admin/demos/classdataset/add/"


@pytest.fixture(autouse=True)
def inline(settings) -> None:
    settings.TRAINING_RUN_BACKEND = "inline"
    cache.clear()  # upload throttle counts


@pytest.fixture
def superuser_client(db) -> Client:
    client = Client()
    client.force_login(make_user(username="head", is_staff=True, is_superuser=True))
    return client


def media_files(root: Path) -> list[str]:
    return sorted(str(p.relative_to(root)) for p in root.rglob("*") if p.is_file())


def class_dataset(**fields) -> ClassDataset:
    return transfer_datasets.create_class_dataset(
        name=fields.pop("name", "고양이와 비행기"),
        description="",
        cohort=fields.pop("cohort", None),
        uploaded_by=None,
        data=cats_vs_planes(),
    )


# ------------------------------------------------------------------ the admin


def test_an_instructor_uploads_a_class_dataset_and_sees_its_classes(
    superuser_client: Client, private_media: Path
) -> None:
    response = superuser_client.post(
        ADD,
        {
            "name": "고양이와 비행기",
            "description": "The notes' exercise, small",
            "zip_upload": upload(cats_vs_planes(), "classes.zip"),
        },
    )
    assert response.status_code == 302, response.content.decode()[-3000:]
    dataset = ClassDataset.objects.get()
    assert dataset.classes == [
        {"name": "cat", "count": 5},
        {"name": "plane", "count": 5},
    ]
    assert dataset.image_count == 10
    assert dataset.uploaded_by.username == "head"
    folder = f"datasets/{dataset.public_id}"
    assert media_files(private_media) == [
        f"{folder}/dataset.zip",
        f"{folder}/preview-0.jpg",
        f"{folder}/preview-1.jpg",
    ]
    listing = superuser_client.get("/admin/demos/classdataset/").content.decode()
    assert "cat (5), plane (5)" in listing
    page = superuser_client.get(f"/admin/demos/classdataset/{dataset.pk}/change/")
    html = page.content.decode()
    assert html.count('src="data:image/jpeg;base64,') == 2
    assert ">plane</th><td>5</td>" in html


@pytest.mark.parametrize(
    ("zip_bytes", "reason"),
    [
        (b"not a zip at all", "이 파일은 ZIP 압축 파일이 아닙니다."),
        (None, "cat"),  # one class: its name in the reason
    ],
)
def test_a_bad_zip_in_the_admin_is_a_korean_form_error_and_nothing_is_saved(
    superuser_client: Client, private_media: Path, zip_bytes, reason: str
) -> None:
    if zip_bytes is None:
        one_class = io.BytesIO()
        with zipfile.ZipFile(one_class, "w") as archive:
            for i, data in enumerate(crops("nobody/chelsea.png", 2)):
                archive.writestr(f"cat/{i}.jpg", data)
        zip_bytes = one_class.getvalue()
    response = superuser_client.post(
        ADD,
        {"name": "나쁜 ZIP", "zip_upload": upload(zip_bytes, "bad.zip")},
        HTTP_ACCEPT_LANGUAGE="ko",
    )
    assert response.status_code == 200
    html = response.content.decode()
    assert "이 ZIP은 쓸 수 없습니다" in html
    assert reason in html
    assert not ClassDataset.objects.exists()
    assert media_files(private_media) == []


def test_deleting_a_dataset_in_the_admin_removes_its_files_and_fails_its_waiting_runs(
    superuser_client: Client, private_media: Path, user
) -> None:
    dataset = class_dataset()
    waiting = TransferRun.objects.create(
        owner=user, options={}, class_dataset=dataset, classes=dataset.class_names
    )
    response = superuser_client.post(
        f"/admin/demos/classdataset/{dataset.pk}/delete/", {"post": "yes"}
    )
    assert response.status_code == 302
    assert not ClassDataset.objects.exists()
    assert media_files(private_media) == []
    waiting.refresh_from_db()
    assert waiting.state == TransferRun.State.FAILED
    assert waiting.detail == "Its class dataset was deleted."


def test_transfer_runs_are_read_only_in_the_admin_and_deleting_one_removes_its_files(
    superuser_client: Client, private_media: Path, user
) -> None:
    run = TransferRun.objects.create(
        owner=user,
        options={"epochs": 3},
        classes=["cat", "plane"],
        state=TransferRun.State.FAILED,
        detail="Stopped at the time limit of 300 seconds.",
        curves=[{"val_accuracy": 0.5}, {"val_accuracy": 0.75}],
    )
    folder = transfer_runs.run_folder(run)
    folder.mkdir(parents=True)
    (folder / "dataset.zip").write_bytes(b"zip")
    listing = superuser_client.get("/admin/demos/transferrun/").content.decode()
    assert "cat, plane" in listing
    assert "2/3" in listing
    assert "75.0 %" in listing
    page = superuser_client.get(f"/admin/demos/transferrun/{run.pk}/change/")
    html = page.content.decode()
    assert "Stopped at the time limit of 300 seconds." in html
    assert 'name="_save"' not in html  # nothing to edit
    assert superuser_client.get("/admin/demos/transferrun/add/").status_code == 403
    response = superuser_client.post(
        f"/admin/demos/transferrun/{run.pk}/delete/", {"post": "yes"}
    )
    assert response.status_code == 302
    assert not TransferRun.objects.exists()
    assert not folder.exists()


# ------------------------------------------------------------------ the API


def test_a_run_trains_on_a_shared_class_dataset_without_copying_it(
    logged_in_client: Client, private_media: Path, django_capture_on_commit_callbacks
) -> None:
    dataset = class_dataset()
    with django_capture_on_commit_callbacks(execute=True):
        response = logged_in_client.post(
            RUNS,
            {
                "class_dataset": str(dataset.public_id),
                "model": "mobilenet_v2",
                "epochs": 1,
            },
        )
    assert response.status_code == 202, response.content
    body = logged_in_client.get(response.json()["url"]).json()
    assert body["state"] == "done", body["detail"]
    assert body["classes"] == ["cat", "plane"]
    assert body["class_dataset"] == {"id": str(dataset.public_id), "name": dataset.name}
    folder = transfer_runs.run_folder(TransferRun.objects.get())
    # No copy of the photos: the trained part and its export for predictions.
    assert sorted(p.name for p in folder.iterdir()) == [
        "predict.npz",
        "predict.onnx",
        "trained.pt",
    ]


def test_a_class_dataset_of_another_class_cannot_be_used(
    logged_in_client: Client, user
) -> None:
    cohort = make_cohort(name="다른 반")
    theirs = class_dataset(cohort=cohort)
    response = logged_in_client.post(RUNS, {"class_dataset": str(theirs.public_id)})
    assert response.status_code == 400
    assert "not shared with your class" in response.json()["detail"]
    assert not TransferRun.objects.exists()
    # Once the student joins that class, it is theirs to use.
    from accounts.models import CohortMembership

    CohortMembership.objects.create(cohort=cohort, student=user)
    response = logged_in_client.post(RUNS, {"class_dataset": str(theirs.public_id)})
    assert response.status_code == 202


def test_who_sees_which_class_dataset(db) -> None:
    teacher = make_user(username="teacher", is_staff=True)
    cohort = make_cohort(instructor=teacher)
    student = make_student_in(cohort, username="minji")
    outsider = make_user(username="outsider")
    shared = class_dataset(name="shared")
    ours = class_dataset(name="ours", cohort=cohort)
    other_teacher = make_user(username="teacher2", is_staff=True)
    other = class_dataset(
        name="other", cohort=make_cohort(name="B", instructor=other_teacher)
    )

    def names(person) -> list[str]:
        return sorted(d.name for d in transfer_datasets.visible_class_datasets(person))

    assert names(student) == ["ours", "shared"]
    assert names(teacher) == ["ours", "shared"]
    assert names(outsider) == ["shared"]
    assert shared and ours and other


def test_exactly_one_source_of_images(logged_in_client: Client) -> None:
    dataset = class_dataset()
    both = logged_in_client.post(
        RUNS,
        {
            "class_dataset": str(dataset.public_id),
            "dataset": upload(cats_vs_planes(), "classes.zip"),
        },
    )
    none = logged_in_client.post(RUNS, {"epochs": 1})
    for response in (both, none):
        assert response.status_code == 400
        assert "exactly one source of images" in response.json()["detail"]
    assert not TransferRun.objects.exists()


def photo_fields(classes: dict[str, list[bytes]]) -> dict[str, list]:
    photos, labels = [], []
    for label, images in classes.items():
        for i, data in enumerate(images):
            photos.append(upload(data, f"IMG_{i}.jpg"))
            labels.append(label)
    return {"photos": photos, "labels": labels}


def test_photos_per_class_become_the_runs_image_folder(
    logged_in_client: Client,
) -> None:
    fields = photo_fields(
        {
            "고양이": crops("nobody/chelsea.png", 3),
            "rocket ship": crops("nobody/rocket.jpg", 2),
        }
    )
    response = logged_in_client.post(RUNS, {**fields, "model": "mobilenet_v2"})
    assert response.status_code == 202, response.content
    assert response.json()["classes"] == ["rocket ship", "고양이"]
    run = TransferRun.objects.get()
    with zipfile.ZipFile(transfer_runs.run_folder(run) / "dataset.zip") as archive:
        assert archive.namelist() == [
            "고양이/001_IMG_0.jpg",
            "고양이/002_IMG_1.jpg",
            "고양이/003_IMG_2.jpg",
            "rocket ship/004_IMG_0.jpg",
            "rocket ship/005_IMG_1.jpg",
        ]


@pytest.mark.parametrize(
    ("classes", "labels", "reason"),
    [
        ({"cat": 3}, None, "Add between 2 and 40 classes; you have 1."),
        ({"cat": 3, "plane": 1}, None, "Class “plane” has 1 photo(s); add at least 2."),
        ({"cat": 2, "../up": 2}, None, "Class name “../up”"),
        ({"cat": 2, ".hidden": 2}, None, "not starting with a dot"),
        ({"cat": 2, "plane": 2}, ["cat"], "got 1 names for 4 photos"),
    ],
)
def test_bad_photos_per_class_get_their_reason_and_nothing_is_kept(
    logged_in_client: Client, private_media: Path, classes, labels, reason
) -> None:
    fields = photo_fields(
        {name: crops("nobody/plane.jpg", count) for name, count in classes.items()}
    )
    if labels is not None:
        fields["labels"] = labels
    response = logged_in_client.post(RUNS, fields)
    assert response.status_code == 400
    assert reason in response.json()["detail"]
    assert not TransferRun.objects.exists()
    assert media_files(private_media) == []


def test_a_photo_that_is_not_an_image_is_named_in_the_reason(
    logged_in_client: Client, private_media: Path
) -> None:
    fields = photo_fields(
        {"cat": crops("nobody/chelsea.png", 2), "plane": crops("nobody/plane.jpg", 2)}
    )
    fields["photos"][3] = upload(b"just some text", "notes.txt")
    response = logged_in_client.post(RUNS, fields)
    assert response.status_code == 400
    assert "plane/004_notes.txt is not an image file" in response.json()["detail"]
    assert media_files(private_media) == []


def test_the_transfer_page_lists_the_datasets_shared_with_the_student(
    logged_in_client: Client, user
) -> None:
    from demos.lessons.services import load_lessons

    load_lessons()
    cohort = make_cohort(name="CNN 1기")
    class_dataset(name="모두의 데이터셋")
    class_dataset(name="다른 반 것", cohort=cohort)
    html = logged_in_client.get("/lessons/transfer-learning/").content.decode()
    assert "모두의 데이터셋 (2 classes, 10 images)" in html
    assert "다른 반 것" not in html
    assert 'capture="environment" multiple' in html


def test_an_instructor_sees_and_shares_only_with_the_classes_they_teach(
    private_media: Path,
) -> None:
    from django.contrib.auth.models import Permission

    teacher = make_user(username="teacher", is_staff=True)
    teacher.user_permissions.add(
        *Permission.objects.filter(codename__endswith="classdataset")
    )
    mine = make_cohort(name="내 반", instructor=teacher)
    theirs = make_cohort(
        name="남의 반", instructor=make_user(username="t2", is_staff=True)
    )
    class_dataset(name="모두의 것")
    class_dataset(name="내 반 것", cohort=mine)
    class_dataset(name="남의 반 것", cohort=theirs)
    client = Client()
    client.force_login(teacher)
    listing = client.get("/admin/demos/classdataset/").content.decode()
    assert "모두의 것" in listing and "내 반 것" in listing
    assert "남의 반 것" not in listing
    form = client.get(ADD).content.decode()
    assert "내 반" in form and "남의 반" not in form
    response = client.post(
        ADD,
        {
            "name": "몰래",
            "cohort": theirs.pk,
            "zip_upload": upload(cats_vs_planes(), "classes.zip"),
        },
    )
    assert response.status_code == 200  # not a choice: a form error
    assert not ClassDataset.objects.filter(name="몰래").exists()
