"""Pre-processing: an ``H x W x 3`` uint8 RGB photo → a detector's input tensor.

Pure module: numpy and OpenCV, never ``django``. Every function returns a
``(1, 3, size, size)`` float32 NCHW array; they differ in fitting (letterbox vs
stretch), channel order (BGR vs RGB) and value range (0..255, 0..1 or
mean/std-normalised), as each model was trained.
"""

from __future__ import annotations

import cv2
import numpy as np


def letterbox(rgb: np.ndarray, size: int, fill: int = 114) -> tuple[np.ndarray, float]:
    """YOLOX pre-processing: scale to fit ``size x size``, paste top-left on grey.

    Returns ``(tensor, ratio)``: tensor ``(1, 3, size, size)`` float32 **BGR** with raw
    0..255 values (YOLOX's export expects no normalisation); divide boxes predicted on
    the canvas by ``ratio`` to get original pixels.
    """
    height, width = rgb.shape[:2]
    ratio = min(size / height, size / width)
    new_w, new_h = max(1, int(width * ratio)), max(1, int(height * ratio))
    resized = cv2.resize(rgb, (new_w, new_h), interpolation=cv2.INTER_LINEAR)
    canvas = np.full((size, size, 3), fill, dtype=np.uint8)
    canvas[:new_h, :new_w] = resized
    bgr = canvas[:, :, ::-1]
    tensor = np.ascontiguousarray(bgr.transpose(2, 0, 1)[None], dtype=np.float32)
    return tensor, ratio


def resize_plain(rgb: np.ndarray, size: int) -> np.ndarray:
    """FastestDet pre-processing: stretch to ``size``², BGR / 255, NCHW float32."""
    resized = cv2.resize(rgb, (size, size), interpolation=cv2.INTER_LINEAR)
    bgr = resized[:, :, ::-1].astype(np.float32) / 255.0
    return np.ascontiguousarray(bgr.transpose(2, 0, 1)[None])


# PicoDet (PaddleDetection) normalises RGB with the ImageNet mean and std, in 0..255.
PICODET_MEAN = np.array([123.675, 116.28, 103.53], dtype=np.float32)
PICODET_STD = np.array([58.395, 57.12, 57.375], dtype=np.float32)


def resize_normalised(rgb: np.ndarray, size: int) -> np.ndarray:
    """PicoDet pre-processing: stretch to ``size``², RGB, ``(x - mean) / std``, NCHW.

    Returns ``(1, 3, size, size)`` float32; boxes come back on the ``size x size``
    canvas and scale to the photo by ``(W / size, H / size)``.
    """
    resized = cv2.resize(rgb, (size, size), interpolation=cv2.INTER_LINEAR)
    normalised = (resized.astype(np.float32) - PICODET_MEAN) / PICODET_STD
    return np.ascontiguousarray(normalised.transpose(2, 0, 1)[None])
