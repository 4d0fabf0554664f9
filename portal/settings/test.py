"""Test settings: fast hasher, locmem cache, embedded defaults, no real e-mail."""

from .base import *  # noqa: F403
from .base import env_bool, env_str

DEBUG = False
SECRET_KEY = "test-only-key"
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
PERSON_DETECTOR = env_str("PORTAL_PERSON_DETECTOR", "")
TORCH_THREADS = 1
# EfficientNet-Lite0 on torch whether or not `make run` left an ONNX export in
# var/models: tests of the ONNX path export one into their own folder.
CNN_ONNX = env_bool("PORTAL_CNN_ONNX", False)
PORTAL_INPROCESS_SWEEP_SECONDS = 0  # tests start the sweeper themselves
# Training and transfer runs train on commit, in the test's process (fast, no
# runner to start); tests of the runner and of Celery set the other backends.
TRAINING_RUN_BACKEND = "inline"
# Logins from a spraying address wait this long each; tests that check the
# slow-down set it and record the waits (tests/accounts/test_login_address_slowdown).
LOGIN_ADDRESS_DELAY_SECONDS = 0
