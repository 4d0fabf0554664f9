"""What the digits CNN sees, without torch (pure: numpy and OpenCV, no Django).

The training data is scikit-learn's handwritten digits (``load_digits``): 8x8 images
whose values 0..16 count the ink pixels in 4x4 blocks of a 32x32 bitmap in which the
digit was scaled to fill the box. Everything the network sees goes through the same
path:

    drawing --prepare_drawn_digit--> 8x8 (0..16) --digits_to_array--> 1x32x32 (0..1)

so a big, thick, off-centre digit drawn on a canvas is cropped to its ink, padded to a
square, scaled to 32x32 and block-counted to 8x8 exactly like the data set, then
upsampled to the network's 32x32 input like every training image. The web worker
prepares drawings and photos here; ``demos.ml.digits`` (torch, training) imports the
same functions.
"""

from __future__ import annotations

import cv2
import numpy as np

from portal.lib.errors import BadInput

INPUT_SIZE = 32  # the network's input is 1x32x32, the size of the original bitmaps
DATA_SIZE = 8  # the data set's images are 8x8
DATA_MAX = 16.0  # ... with values 0..16 (ink pixels per 4x4 block)
WORK_SIZE = 128  # drawings are normalised at this resolution before scaling to 32
STROKE_WIDTH = 0.19  # the data set's strokes are about 1/5 of the digit's height


class NoDigitFound(BadInput):
    """The drawing is blank: there is no ink to read."""


def digits_to_array(images: np.ndarray) -> np.ndarray:
    """N x 8 x 8 (or 8 x 8) values 0..16 → float32 N x 1 x 32 x 32 in 0..1.

    Bilinear upsampling with half-pixel centres and edge clamping: what torch's
    ``F.interpolate(..., mode="bilinear", align_corners=False)`` does (the tests
    compare them), the same for the data set and for drawings.
    """
    array = np.asarray(images, dtype=np.float32)
    if array.ndim == 2:
        array = array[None]
    scaled = array / np.float32(DATA_MAX)
    upsampled = [
        cv2.resize(image, (INPUT_SIZE, INPUT_SIZE), interpolation=cv2.INTER_LINEAR)
        for image in scaled
    ]
    return np.stack(upsampled)[:, None].astype(np.float32)


def stroke_thickness(mask: np.ndarray) -> float:
    """Mean stroke width in pixels of a binary H x W mask: 2 * area / perimeter.

    A stroke of width t and length L has area t*L and perimeter about 2*L.
    """
    binary = mask.astype(np.uint8)
    contours, _ = cv2.findContours(binary, cv2.RETR_LIST, cv2.CHAIN_APPROX_NONE)
    perimeter = sum(cv2.arcLength(contour, True) for contour in contours)
    return 2.0 * float(binary.sum()) / perimeter if perimeter else 0.0


def _square_crop(ink: np.ndarray, threshold: float, margin: int = 0) -> np.ndarray:
    """Crop ``ink`` to the pixels above ``threshold``; pad to a centred square."""
    rows = np.flatnonzero((ink > threshold).any(axis=1))
    cols = np.flatnonzero((ink > threshold).any(axis=0))
    crop = ink[rows[0] : rows[-1] + 1, cols[0] : cols[-1] + 1]
    height, width = crop.shape
    side = max(height, width) + 2 * margin
    square = np.zeros((side, side), dtype=np.float32)
    top, left = (side - height) // 2, (side - width) // 2
    square[top : top + height, left : left + width] = crop
    return square


def prepare_drawn_digit(image: np.ndarray, *, ink_threshold: float = 0.2) -> np.ndarray:
    """A drawing of any size and polarity → an 8x8 float32 image with values 0..16.

    ``image``: H x W (grey) or H x W x 3 (RGB) uint8. The background is the median of
    the border pixels; ink is whatever differs from it (dark on light or light on dark).
    The ink is cropped to its bounding box (pixels above ``ink_threshold`` of the
    strongest ink) and padded to a centred square. Thin strokes are thickened to
    ``STROKE_WIDTH`` of the digit's size (the data set's pens are thick), then the
    square is scaled to 32x32 with area averaging and counted in 4x4 blocks like the
    data set. Raises ``NoDigitFound`` for a blank image.
    """
    grey = image if image.ndim == 2 else cv2.cvtColor(image, cv2.COLOR_RGB2GRAY)
    grey = grey.astype(np.float32)
    border = np.concatenate([grey[0], grey[-1], grey[:, 0], grey[:, -1]])
    ink = np.abs(grey - float(np.median(border)))
    strongest = float(ink.max())
    if strongest < 32:  # less than an eighth of full contrast: nothing drawn
        raise NoDigitFound("No digit found: the image is blank. Draw a digit.")
    ink /= strongest
    # Work at a fixed resolution: the digit's longer side is WORK_SIZE pixels.
    square = _square_crop(ink, ink_threshold, margin=1)
    scale = WORK_SIZE / max(square.shape[0] - 2, 1)
    size = max(int(round(square.shape[0] * scale)), 1)
    interpolation = cv2.INTER_AREA if scale < 1 else cv2.INTER_LINEAR
    work = cv2.resize(square, (size, size), interpolation=interpolation)
    missing = STROKE_WIDTH * WORK_SIZE - stroke_thickness(work > 0.3)
    if missing >= 2:
        grow = int(round(missing)) | 1  # odd kernel: grows each side by missing / 2
        work = np.pad(work, grow)
        kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (grow, grow))
        work = cv2.dilate(work, kernel)
    square = _square_crop(work, 0.5)
    bitmap = cv2.resize(square, (INPUT_SIZE, INPUT_SIZE), interpolation=cv2.INTER_AREA)
    # Block sums of the 32x32 bitmap (values 0..1) → 0..16, rounded like the data.
    blocks = bitmap.reshape(DATA_SIZE, 4, DATA_SIZE, 4).sum(axis=(1, 3))
    return np.clip(np.rint(blocks), 0, DATA_MAX).astype(np.float32)


def photo_to_digits_array(image: np.ndarray, size: int = INPUT_SIZE) -> np.ndarray:
    """Any RGB photo (H x W x 3 uint8) → 1 x 1 x size x size grey float32 in 0..1.

    The digits CNN only ever sees grey pixels, so a photo is centre-cropped to a
    square and scaled with area averaging, without digit preprocessing (the
    feature-map lesson at 32, the activation widget at any size: convolutions
    take any size).
    """
    grey = cv2.cvtColor(image, cv2.COLOR_RGB2GRAY) if image.ndim == 3 else image
    height, width = grey.shape
    side = min(height, width)
    top, left = (height - side) // 2, (width - side) // 2
    square = grey[top : top + side, left : left + side]
    small = cv2.resize(square, (size, size), interpolation=cv2.INTER_AREA)
    return (small.astype(np.float32) / 255.0)[None, None]
