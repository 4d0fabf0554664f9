"""How many files one request may carry: ``MAX_FILES_PER_REQUEST`` for every view,
more only for a view wrapped in ``accepts_files``.

Django's own stop, ``DATA_UPLOAD_MAX_NUMBER_FILES``, is one number for the whole
site and no view can raise it, so it is set to the largest any view accepts (the
transfer page's photos per class) and ``FileCountLimit``, the first of
``FILE_UPLOAD_HANDLERS``, holds every other request to the small limit. Upload
handlers are Django's supported per-request hook into multipart parsing; past the
limit the handler raises Django's ``TooManyFilesSent``, before the file is
written anywhere, so the answer is the one the portal already gives for too many
files (a 400; JSON on the API, ``portal.lib.api.exception_handler``).
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.core.exceptions import TooManyFilesSent
from django.core.files.uploadhandler import FileUploadHandler
from django.http import HttpRequest, HttpResponse


class FileCountLimit(FileUploadHandler):
    """Refuses a request's file number ``limit + 1`` (``TooManyFilesSent``);
    passes every byte on to the next handler, which stores the file."""

    def __init__(self, request: HttpRequest | None = None, limit: int | None = None):
        super().__init__(request)
        self.limit = settings.MAX_FILES_PER_REQUEST if limit is None else limit
        self.count = 0

    def new_file(self, *args: Any, **kwargs: Any) -> None:
        self.count += 1
        if self.count > self.limit:
            raise TooManyFilesSent(
                f"More than {self.limit} files in one request (FileCountLimit)."
            )

    def receive_data_chunk(self, raw_data: bytes, start: int) -> bytes:
        return raw_data

    def file_complete(self, file_size: int) -> None:
        return None  # the next handler returns the file


View = Callable[..., HttpResponse]


def accepts_files(limit: Callable[[], int]) -> Callable[[View], View]:
    """Wrap a view (a function, or an ``APIView.as_view()``) so its requests may
    carry ``limit()`` files, read per request; at most
    ``DATA_UPLOAD_MAX_NUMBER_FILES``, Django's stop for the whole site.

    The view's ``FileCountLimit`` is swapped before the view runs, hence before
    anything parses the body (Django refuses to change the handlers after that:
    a middleware that read ``request.POST`` first would make this raise).
    """

    def decorate(view: View) -> View:
        @functools.wraps(view)  # keeps csrf_exempt and DRF's view.cls
        def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
            request.upload_handlers = [
                FileCountLimit(request, limit=limit())
                if isinstance(handler, FileCountLimit)
                else handler
                for handler in request.upload_handlers
            ]
            return view(request, *args, **kwargs)

        return wrapped

    return decorate
