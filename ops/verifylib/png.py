"""Proof that a PNG file is a picture, with the standard library alone: ops/pictures --check runs
it on each screenshot it took. A file passes when it decodes whole (signature, every chunk's
CRC, a header, image data that inflates to exactly the rows the header promises, every row's
filter undone) and shows something: at least MIN_COLOURS distinct pixel values, which a blank
page or a browser's error page of one colour does not have.
"""

import struct
import zlib

SIGNATURE = b"\x89PNG\r\n\x1a\n"
# Samples per pixel of each PNG colour type: grey, RGB, palette, grey+alpha, RGBA.
CHANNELS = {0: 1, 2: 3, 3: 1, 4: 2, 6: 4}
MIN_COLOURS = 8


class NotAPicture(Exception):
    """What is wrong with a file that should be a PNG picture."""


def chunks(data):
    """(type, body) of each chunk of `data`, a PNG file, checking each CRC."""
    if not data.startswith(SIGNATURE):
        raise NotAPicture("no PNG signature")
    at = len(SIGNATURE)
    while at < len(data):
        if at + 8 > len(data):
            raise NotAPicture(f"cut short in a chunk header at byte {at}")
        (length,) = struct.unpack(">I", data[at : at + 4])
        kind = data[at + 4 : at + 8]
        body = data[at + 8 : at + 8 + length]
        crc = data[at + 8 + length : at + 12 + length]
        if len(body) != length or len(crc) != 4:
            raise NotAPicture(f"chunk {kind!r} cut short")
        if struct.unpack(">I", crc)[0] != zlib.crc32(kind + body):
            raise NotAPicture(f"chunk {kind!r}: bad CRC")
        yield kind.decode("latin-1"), body
        at += 12 + length


def paeth(left, up, up_left):
    estimate = left + up - up_left
    distances = abs(estimate - left), abs(estimate - up), abs(estimate - up_left)
    return (left, up, up_left)[distances.index(min(distances))]


def unfilter(raw, height, stride, step):
    """The rows of `raw` (inflated image data, a filter byte before each row) with each row's
    filter undone; `step` is the bytes per pixel, at least 1."""
    rows, previous = [], bytearray(stride)
    for y in range(height):
        start = y * (stride + 1)
        kind, row = raw[start], bytearray(raw[start + 1 : start + 1 + stride])
        if kind > 4:
            raise NotAPicture(f"row {y}: unknown filter {kind}")
        for x in range(stride):
            left = row[x - step] if x >= step else 0
            up, up_left = previous[x], previous[x - step] if x >= step else 0
            predictor = (0, left, up, (left + up) // 2, paeth(left, up, up_left))[kind]
            row[x] = (row[x] + predictor) & 0xFF
        rows.append(bytes(row))
        previous = row
    return rows


def inspect(data):
    """(width, height, distinct pixel values) of `data`, a PNG file; NotAPicture when it does
    not decode or shows fewer than MIN_COLOURS values. Interlaced files are refused: neither
    Chromium's screenshots nor pngquant's and optipng's output use interlacing."""
    found = list(chunks(data))
    if not found or found[0][0] != "IHDR" or found[-1][0] != "IEND":
        raise NotAPicture("chunks do not run from IHDR to IEND")
    width, height, depth, colour, _, _, interlace = struct.unpack(">IIBBBBB", found[0][1])
    if colour not in CHANNELS or interlace or not width or not height:
        raise NotAPicture(f"unsupported header: colour type {colour}, interlace {interlace}")
    bits = CHANNELS[colour] * depth
    stride, step = (width * bits + 7) // 8, max(1, bits // 8)
    try:
        raw = zlib.decompress(b"".join(body for kind, body in found if kind == "IDAT"))
    except zlib.error as error:
        raise NotAPicture(f"image data does not inflate: {error}") from None
    if len(raw) != height * (stride + 1):
        raise NotAPicture(f"{len(raw)} bytes of image data where {width}x{height} needs "
                          f"{height * (stride + 1)}")
    rows = unfilter(raw, height, stride, step)
    size = max(1, bits // 8)
    colours = {row[x : x + size] for row in rows for x in range(0, stride, size)}
    if len(colours) < MIN_COLOURS:
        raise NotAPicture(f"only {len(colours)} distinct values: a blank page?")
    return width, height, len(colours)
