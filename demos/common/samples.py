"""The sample photos in ``static/img/samples/``: one catalogue, localised titles.

Every page that offers a sample (the lesson widgets, the feature maps, the
augmentation grid, the person demo's "run on this sample") names it through here,
so a photo has one key and one title in each language. Keys are what URLs, forms,
API fields and caches carry (``/demos/people/?sample=cyclists``); the files are read
by key from the static folder, never from a path a client sends. The CNN widgets
once named photos by file stem (``chelsea`` for ``cat``): ``get_sample`` still
takes those old names, so a bookmarked URL or a script's request keeps working,
and answers with the catalogue key. ``people`` are the annotated person boxes,
scaled to the shipped copy (see static/img/samples/README.md).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from django.contrib.staticfiles import finders
from django.core.files.uploadedfile import SimpleUploadedFile
from django.templatetags.static import static
from django.utils.functional import Promise
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from portal.lib.errors import BadInput

SAMPLES_DIR = "img/samples"


class UnknownSample(BadInput):
    """No shipped sample photo has this key."""


@dataclass(frozen=True)
class Sample:
    """A shipped photo: its key, file, title and annotated person boxes (pixels)."""

    key: str
    filename: str
    title: str | Promise
    people: tuple[tuple[int, int, int, int], ...] = ()

    @property
    def static_path(self) -> str:
        return f"{SAMPLES_DIR}/{self.filename}"

    @property
    def url(self) -> str:
        return static(self.static_path)

    @property
    def stem(self) -> str:
        return Path(self.filename).stem


SAMPLES: dict[str, Sample] = {
    sample.key: sample
    for sample in (
        Sample(
            "cyclists",
            "cyclists.jpg",
            _("Four cyclists"),
            (
                (0, 43, 134, 341),
                (78, 68, 238, 341),
                (193, 10, 409, 341),
                (332, 44, 508, 315),
            ),
        ),
        Sample(
            "apollo-crew",
            "apollo11_crew.jpg",
            _("The Apollo 11 crew"),
            ((24, 128, 224, 402), (160, 55, 329, 402), (282, 133, 470, 402)),
        ),
        Sample("astronaut", "astronaut.jpg", _("An astronaut"), ((20, 15, 364, 512),)),
        Sample("cat", "chelsea.jpg", _("Chelsea the cat")),
    )
}


# Old names of the same photos: the file stems the CNN widgets used as keys.
STEM_ALIASES: dict[str, str] = {
    sample.stem: sample.key for sample in SAMPLES.values() if sample.stem != sample.key
}


def get_sample(key: str) -> Sample:
    """The sample with this key (or old file-stem name, ``chelsea`` → ``cat``);
    ``UnknownSample`` (a ``BadInput``) otherwise."""
    try:
        return SAMPLES[STEM_ALIASES.get(key, key)]
    except KeyError:
        raise UnknownSample(
            gettext("Unknown sample %(key)r; choose one of: %(keys)s.")
            % {"key": key, "keys": ", ".join(SAMPLES)}
        ) from None


def all_samples(*, with_people: bool = False) -> list[Sample]:
    """Every sample, or only those with annotated people."""
    return [s for s in SAMPLES.values() if s.people or not with_people]


def chosen_key(wanted: str | None, default: str) -> str:
    """The catalogue key of ``wanted`` (a key or an old name from a query string),
    else ``default``: a page preselects a known photo and never fails on a bad one."""
    try:
        return get_sample(wanted).key if wanted else default
    except UnknownSample:
        return default


def sample_bytes(key: str) -> bytes:
    """The shipped file of sample ``key``, found through the static-files finders."""
    sample = get_sample(key)
    found = finders.find(sample.static_path)
    if not found:
        raise UnknownSample(
            gettext("The sample photo %(name)s is missing on this server.")
            % {"name": sample.filename}
        )
    return Path(found).read_bytes()


def sample_upload(key: str) -> SimpleUploadedFile:
    """Sample ``key`` as the upload a student would send (the person demo's input)."""
    return SimpleUploadedFile(get_sample(key).filename, sample_bytes(key))
