"""An image of a digit (PNG or JPEG, any size, either polarity) turned into MNIST's form; not the network.

MNIST was made so (LeCun, Cortes and Burges): NIST's black-and-white digits were scaled to
fit a 20 x 20 box, keeping their aspect ratio, with anti-aliasing (hence the grey levels),
then placed in a 28 x 28 image so that their centre of mass falls on its centre. Measured
on the 10,000 test images: the larger side of every digit's bounding box is 20 pixels
(9,997 of them; 19 for 3) and the centre of mass lies within half a pixel of (14, 14), in
pixel indices, in both directions: the digit was moved by whole pixels. So mnist_form
does the same, after turning the image into grey levels in [0, 1] with the digit light on
a dark background, as MNIST stores it.
"""

import struct
import warnings

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

from experiments.errors import ImageError

FORMATS = ("PNG", "JPEG")
PNG_SIGNATURE, JPEG_SIGNATURE = b"\x89PNG\r\n\x1a\n", b"\xff\xd8\xff"
MAX_PIXELS = 50_000_000  # 50 megapixels, more than a phone's photo (48 MP)
WORKING_SIDE = 1024  # larger images are first shrunk (by whole factors) to about this side
BOX, SIDE = 20, 28  # the digit fits in BOX x BOX, centred in SIDE x SIDE
# After levels are stretched to [0, 1], the digit's bounding box is where they exceed INK:
# JPEG's ringing and a blurred edge stay below it. 2,000 MNIST test images saved and read
# back, with 0.05: a 28 x 28 JPEG's ringing widened the box (mean error 0.080 a pixel; a
# small network recognized 73.2% of them, 87.5% of the originals); with 0.2: 0.010 for
# that JPEG (87.6%), 0.001 for a PNG, 0.028 for a PNG enlarged to 200 x 200 (88.7%).
INK = 0.2
MIN_CONTRAST = 0.1  # an image whose digit differs less than this from its background is blank


def load_digit(path) -> np.ndarray:
    """The image at `path` in MNIST's form, as a network takes it: (784,) float32 in [0, 1].

    Raises ImageError naming the file when it cannot be read, is not a PNG or JPEG, has no
    pixels, more than MAX_PIXELS, or holds no digit (one grey level).
    """
    grey = read_grey(path)
    try:
        return mnist_form(grey).reshape(SIDE * SIDE)  # (784,)
    except ImageError as error:
        raise ImageError(f"{path}: {error}") from None


def read_grey(path) -> np.ndarray:
    """The image at `path` as grey levels: (height, width) float32, 0 black, 1 white.

    The pixel count is checked from the header, before any pixel is decoded, so that a
    small file declaring a huge image (a decompression bomb) costs nothing; Pillow's own
    guard (DecompressionBombWarning, then Error, past Image.MAX_IMAGE_PIXELS) is turned
    into the same refusal. A transparent background is laid on white or black, whichever
    contrasts with the opaque pixels.
    """
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(path, formats=FORMATS) as image:
                width, height = image.size
                if width < 1 or height < 1:
                    raise ImageError(f"{path}: the image is {width}x{height} pixels, expected "
                                     "at least 1x1")
                if width * height > MAX_PIXELS:
                    raise ImageError(f"{path}: the image is {width}x{height} pixels, more than "
                                     f"the {MAX_PIXELS:,} accepted")
                _draft(image)
                image = ImageOps.exif_transpose(image)  # phones store photos turned
                return _grey_levels(_reduced(image))
    except FileNotFoundError:
        raise ImageError(f"{path}: no such file") from None
    except IsADirectoryError:
        raise ImageError(f"{path}: a directory, expected a PNG or JPEG image") from None
    except UnidentifiedImageError:
        raise ImageError(f"{path}: {_unidentified(path)}") from None
    except (Image.DecompressionBombWarning, Image.DecompressionBombError):
        raise ImageError(f"{path}: the image declares more than the {MAX_PIXELS:,} pixels "
                         "accepted (a decompression bomb?)") from None
    except (OSError, ValueError, SyntaxError, EOFError) as error:  # truncated, corrupt data
        reason = str(error).splitlines()[0] if str(error) else type(error).__name__
        raise ImageError(f"{path}: cannot decode the image ({reason})") from None


def _unidentified(path):
    """Why Pillow found no PNG or JPEG in a file: it is empty, a PNG of no pixels (which
    Pillow refuses to open), damaged, or something else."""
    try:
        with open(path, "rb") as file:
            head = file.read(24)  # PNG: 8-byte signature, IHDR's length and name, width, height
    except OSError:
        head = b"?"
    if not head:
        return "an empty file"
    if head.startswith(PNG_SIGNATURE) and head[12:16] == b"IHDR":
        width, height = struct.unpack(">II", head[16:24])
        if width == 0 or height == 0:
            return f"the image is {width}x{height} pixels, expected at least 1x1"
    if head.startswith((PNG_SIGNATURE, JPEG_SIGNATURE)):
        return "a damaged PNG or JPEG: its header cannot be read"
    return "not a PNG or JPEG image"


def _draft(image):
    """Let a JPEG decoder skip detail (decode at 1/2, 1/4 or 1/8 scale) when the image is
    larger than WORKING_SIDE: faster, and a fraction of the memory. Before any decoding."""
    if image.format == "JPEG" and max(image.size) > WORKING_SIDE:
        image.draft(image.mode, (image.width * WORKING_SIDE // max(image.size),
                                 image.height * WORKING_SIDE // max(image.size)))


def _reduced(image):
    """The image shrunk by a whole factor, averaging blocks of pixels, to at most about
    WORKING_SIDE pixels a side: the digit ends up 20 pixels tall anyway, and a 50 MP photo
    in float32 would take 200 MB per copy."""
    factor = -(-max(image.size) // WORKING_SIDE)  # ceil
    if factor < 2:
        return image
    if image.mode.startswith("I;16"):
        image = image.convert("I")  # the same 0..65535 values, in a mode reduce() takes
    elif image.mode not in ("L", "LA", "RGB", "RGBA", "I"):
        image = image.convert("RGBA" if _has_alpha(image) else "RGB")  # palette, bilevel, CMYK
    return image.reduce(factor)


def _has_alpha(image):
    return "A" in image.mode or "transparency" in image.info


def _grey_levels(image):
    """(height, width) float32 in [0, 1] from any PNG/JPEG mode, transparency flattened."""
    if image.mode.startswith("I"):  # 16-bit grey PNG: 0..65535
        return np.asarray(image, dtype=np.float32) / np.float32(65535)
    if not _has_alpha(image):
        return np.asarray(image.convert("L"), dtype=np.float32) / np.float32(255)
    grey_alpha = np.asarray(image.convert("RGBA").convert("LA"), dtype=np.float32) / 255
    grey, alpha = grey_alpha[..., 0], grey_alpha[..., 1]  # (height, width) each
    if alpha.sum() == 0:
        return grey * 0  # nothing drawn: mnist_form says the image is blank
    opaque = float((grey * alpha).sum() / alpha.sum())
    background = 1.0 if opaque < 0.5 else 0.0  # dark strokes on transparency: paper is white
    return grey * alpha + np.float32(background) * (1 - alpha)


def mnist_form(grey) -> np.ndarray:
    """Grey levels (height, width) in [0, 1], either polarity, as MNIST stores a digit:
    (28, 28) float32, the digit light (1) on dark (0), its bounding box fitted into 20 x 20
    with its aspect ratio kept, its centre of mass on the image's centre (14, 14) to the
    nearest pixel.

    The background is told by the image's border (its median): a light border means a dark
    digit on paper, which is inverted. Levels are then stretched so that the background is
    0 and the brightest ink 1. ImageError when nothing stands out from the background.
    """
    grey = np.asarray(grey, dtype=np.float32)
    border = np.concatenate([grey[0], grey[-1], grey[:, 0], grey[:, -1]])
    if np.median(border) > 0.5:
        grey = 1 - grey  # dark on light, as written on paper: MNIST's ink is light on dark
        border = 1 - border
    background, ink = float(np.median(border)), float(grey.max())
    if ink - background < MIN_CONTRAST:
        raise ImageError("no digit found: the image is one grey level, give or take "
                         f"{MIN_CONTRAST:.0%}")
    levels = np.clip((grey - background) / (ink - background), 0, 1)  # (height, width)
    rows, columns = np.nonzero(levels > INK)
    digit = levels[rows.min():rows.max() + 1, columns.min():columns.max() + 1]
    return _centred(_fitted(digit))


def _fitted(digit):
    """The digit scaled so that its larger side is BOX pixels: (h, w), max(h, w) == BOX.

    Pillow's resampling filters average over the whole footprint of an output pixel when
    they shrink, which is the anti-aliasing that gave MNIST its grey edges. Of box, bilinear
    and Lanczos, Lanczos comes closest to the originals (MNIST test images enlarged to
    200 x 200 and brought back: mean error 0.028 a pixel, against 0.030 and 0.034); its
    slight overshoot is clipped away.
    """
    height, width = digit.shape
    scale = BOX / max(height, width)
    size = (max(1, round(width * scale)), max(1, round(height * scale)))  # Pillow: (w, h)
    if size == (width, height):
        return digit
    resized = Image.fromarray(np.ascontiguousarray(digit, dtype=np.float32))  # mode "F"
    resized = resized.resize(size, Image.Resampling.LANCZOS)
    return np.clip(np.asarray(resized, dtype=np.float32), 0, 1)


def _centred(digit):
    """The digit (h, w) placed in a SIDE x SIDE image with its centre of mass on (14, 14),
    moved by whole pixels, as MNIST's were, and never cut by the image's edge."""
    height, width = digit.shape
    mass = digit.sum()
    centre_row = (digit.sum(axis=1) @ np.arange(height)) / mass  # in the digit's pixels
    centre_column = (digit.sum(axis=0) @ np.arange(width)) / mass
    top = min(max(round(SIDE / 2 - centre_row), 0), SIDE - height)
    left = min(max(round(SIDE / 2 - centre_column), 0), SIDE - width)
    image = np.zeros((SIDE, SIDE), np.float32)
    image[top:top + height, left:left + width] = digit
    return image
