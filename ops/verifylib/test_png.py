import struct
import unittest
import zlib

from . import ROOT
from .png import NotAPicture, inspect


def chunk(kind, body):
    return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))


def png(rows, filter_kind=0):
    """An RGB PNG of `rows` (lists of (r, g, b)), each row filtered with `filter_kind` (0 none,
    1 Sub, 2 Up), as an encoder would write it."""
    width, height = len(rows[0]), len(rows)
    raw, previous = b"", bytes(width * 3)
    for row in rows:
        data = bytes(v for pixel in row for v in pixel)
        if filter_kind == 1:
            left = bytes(3) + data[:-3]
            encoded = bytes((data[x] - left[x]) & 0xFF for x in range(len(data)))
        elif filter_kind == 2:
            encoded = bytes((data[x] - previous[x]) & 0xFF for x in range(len(data)))
        else:
            encoded = data
        raw += bytes([filter_kind]) + encoded
        previous = data
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(raw))
        + chunk(b"IEND", b"")
    )


GRADIENT = [[(x * 16, y * 16, 128) for x in range(4)] for y in range(4)]


class Inspect(unittest.TestCase):
    def test_a_picture_decodes_whatever_its_rows_filters(self):
        for kind in (0, 1, 2):
            self.assertEqual(inspect(png(GRADIENT, kind)), (4, 4, 16), kind)

    def test_a_blank_page_is_not_a_picture(self):
        blank = [[(255, 255, 255)] * 4] * 4
        with self.assertRaisesRegex(NotAPicture, "only 1 distinct"):
            inspect(png(blank))

    def test_a_damaged_or_cut_file_is_not_a_picture(self):
        good = png(GRADIENT)
        damaged = good[:40] + bytes([good[40] ^ 0xFF]) + good[41:]
        for data, problem in [
            (damaged, "bad CRC"),
            (good[:-20], "cut short"),
            (b"GIF89a" + good[6:], "no PNG signature"),
            (b"", "no PNG signature"),
        ]:
            with self.assertRaisesRegex(NotAPicture, problem):
                inspect(data)

    def test_image_data_of_the_wrong_size_is_refused(self):
        short = png(GRADIENT[:3])
        header = struct.pack(">IIBBBBB", 4, 4, 8, 2, 0, 0, 0)
        lying = short[:8] + chunk(b"IHDR", header) + short[8 + 25 :]
        with self.assertRaisesRegex(NotAPicture, "bytes of image data"):
            inspect(lying)

    def test_the_pictures_in_the_docs_decode(self):
        """docs/img/ holds what ops/pictures made (optimised by pngquant and optipng, whose
        filters include Paeth): each must decode and show something."""
        pictures = sorted((ROOT / "docs" / "img").glob("*.png"))
        self.assertTrue(pictures, "no picture in docs/img")
        for path in pictures:
            with self.subTest(picture=path.name):
                width, height, colours = inspect(path.read_bytes())
                self.assertGreater(colours, 8)


if __name__ == "__main__":
    unittest.main()
