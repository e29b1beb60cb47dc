"""Every compressed transfer syntax in the sample set renders from the archive, lossless ones
to exactly the pixels of their uncompressed twin; an undecodable file is a clear error."""
import io

import numpy as np
import pytest
from PIL import Image
from pydicom import dcmread
from pydicom.encaps import generate_fragmented_frames

from studies import rendering
from studies.rendering import PNG, ImageOptions, Window, render_frame
from tests.conftest import SAMPLES
from tests.studies.test_rendering_support import decoded, store_file, with_identity

pytestmark = pytest.mark.django_db

SAME_IMAGE = SAMPLES / "compressed" / "same_image_9_syntaxes"
UNDECODABLE = "compressed/one_per_transfer_syntax/1.2.840.10008.1.2.4.51.dcm"  # 12-bit JPEG Extended (MANIFEST)


def compressed_samples():
    return sorted(str(p.relative_to(SAMPLES)) for p in (SAMPLES / "compressed").rglob("*.dcm"))


def archived(relative: str, tmp_path):
    path = SAMPLES / relative
    if "StudyInstanceUID" not in dcmread(path, stop_before_pixels=True, force=True):
        path = with_identity(path, tmp_path / "with-identity")  # pydicom-data test images carry no study
    return store_file(path)


def test_nine_lossless_syntaxes_of_one_slice_render_to_identical_pixels(tmp_path):
    renders = {}
    for path in sorted(SAME_IMAGE.glob("*.dcm")):
        instance = store_file(path)
        renders[instance.transfer_syntax_uid, path.name] = decoded(render_frame(instance, 1, ImageOptions(media_type=PNG)))

    assert len({syntax for syntax, _ in renders}) == 7  # explicit/implicit/big endian, RLE, JPEG lossless, JPEG-LS, J2K
    twin = renders["1.2.840.10008.1.2.1", "1.dcm"]  # the uncompressed one
    assert twin.std() > 10
    for key, pixels in renders.items():
        assert np.array_equal(pixels, twin), key


@pytest.mark.parametrize("relative", [r for r in compressed_samples() if r != UNDECODABLE])
def test_every_compressed_sample_renders(relative, tmp_path):
    instance = archived(relative, tmp_path)

    for media_type in (rendering.JPEG, PNG):
        body = render_frame(instance, 1, ImageOptions(media_type=media_type))
        image = Image.open(io.BytesIO(body))
        assert image.format == {"image/jpeg": "JPEG", "image/png": "PNG"}[media_type]
        assert image.size == (instance.columns, instance.rows)
    pixels = decoded(render_frame(instance, 1, ImageOptions(media_type=PNG)))
    assert pixels.max() > pixels.min()  # something is drawn


def test_the_undecodable_12_bit_jpeg_extended_sample_is_a_clear_error(tmp_path):
    instance = archived(UNDECODABLE, tmp_path)

    with pytest.raises(rendering.CannotDecode, match="JPEG Extended") as error:
        render_frame(instance, 1, ImageOptions(window=Window(600, 1600)))
    assert "cannot be decoded" in str(error.value)


def test_a_ybr_jpeg_renders_with_the_colours_of_the_jpeg_itself(tmp_path):
    relative = "compressed/one_per_transfer_syntax/1.2.840.10008.1.2.4.50.dcm"
    instance = archived(relative, tmp_path)
    ds = dcmread(SAMPLES / relative)
    frame = next(generate_fragmented_frames(ds.PixelData, number_of_frames=1))
    # Pillow's own JPEG decoder converts YCbCr to RGB: an independent reference for the colours.
    reference = np.asarray(Image.open(io.BytesIO(b"".join(frame))).convert("RGB")).astype(int)

    rendered = decoded(render_frame(instance, 1, ImageOptions(media_type=PNG))).astype(int)
    assert rendered.shape == reference.shape
    assert np.abs(rendered - reference).mean() < 1.5
    assert np.abs(rendered[..., 0] - rendered[..., 2]).max() > 100  # a colour image, not gray


def test_a_frame_of_a_compressed_multiframe_cine_is_decoded_on_its_own(tmp_path):
    instance = store_file(SAMPLES / "multiframe" / "us_multiframe_jpeg_baseline_34f.dcm")
    first = decoded(render_frame(instance, 1, ImageOptions(media_type=PNG))).astype(int)
    last = decoded(render_frame(instance, 34, ImageOptions(media_type=PNG))).astype(int)

    assert first.shape == last.shape == (430, 480, 3)
    assert np.abs(first - last).mean() > 1  # different frames, different pictures
    with pytest.raises(rendering.FrameOutOfRange):
        render_frame(instance, 35, ImageOptions())
