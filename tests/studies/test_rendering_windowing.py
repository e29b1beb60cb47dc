"""Known stored values give the gray levels of the PS3.3 C.11.2 window functions, through the
whole chain: pydicom file → ingest → archive → render → PNG."""
import numpy as np
import pytest
from pydicom import Dataset
from pydicom.pixels import apply_modality_lut, apply_windowing, pixel_array

from studies import rendering
from studies.rendering import PNG, ImageOptions, Window, render_frame
from tests.conftest import CT_HEAD
from tests.studies.test_rendering_support import decoded, image_dataset, store, store_file

pytestmark = pytest.mark.django_db

HU = np.array([[-1000, 0, 40, 1000], [-160, 239, 238, -159]])
# PS3.3 C.11.2.1.2.1 with c = 40, w = 400 and an 8-bit output: x ≤ c − 0.5 − (w−1)/2 = −160 → 0,
# x > c − 0.5 + (w−1)/2 = 239 → 255, else ((x − 39.5)/399 + 0.5) × 255, rounded.
EXPECTED_40_400 = np.array([[0, 102, 128, 255], [0, 255, 254, 1]], dtype=np.uint8)


def png(instance, frame=1, **options) -> np.ndarray:
    return decoded(render_frame(instance, frame, ImageOptions(media_type=PNG, **options)))


def test_a_ct_window_maps_hounsfield_units_to_the_standard_gray_levels(tmp_path, alice):
    stored = (HU + 1024).astype(np.uint16)  # the usual CT encoding: unsigned, intercept −1024
    instance = store(image_dataset(stored, bits_stored=12, slope=1, intercept=-1024), tmp_path, alice)

    assert png(instance, window=Window(40, 400)).tolist() == EXPECTED_40_400.tolist()


def test_rescale_slope_is_applied_before_the_window(tmp_path):
    stored = ((HU + 2048) * 2).astype(np.uint16)  # HU = stored × 0.5 − 2048
    instance = store(image_dataset(stored, slope=0.5, intercept=-2048), tmp_path)

    assert png(instance, window=Window(40, 400)).tolist() == EXPECTED_40_400.tolist()


def test_signed_pixels_are_windowed_by_their_value_not_their_bit_pattern(tmp_path):
    instance = store(image_dataset(HU.astype(np.int16), slope=1, intercept=0), tmp_path)

    assert png(instance, window=Window(40, 400)).tolist() == EXPECTED_40_400.tolist()


def test_signed_12_bit_pixels_in_16_bit_words_are_sign_extended(tmp_path):
    # −5 stored in 12 bits is 0x0FFB; the top four bits of the word are not part of the value.
    words = np.array([[0x0FFB, 0x0005], [0x0800, 0x07FF]], dtype=np.uint16)
    ds = image_dataset(words, bits_stored=12)
    ds.PixelRepresentation = 1
    instance = store(ds, tmp_path)

    # linear-exact 0/20 spans −10…10: −5 → 0.25, 5 → 0.75; −2048 and 2047 clip.
    assert png(instance, window=Window(0, 20, rendering.LINEAR_EXACT)).tolist() == [[64, 191], [0, 255]]


def test_32_bit_pixels_are_windowed_directly_with_the_same_result(tmp_path):
    instance = store(image_dataset(HU.astype(np.int32), slope=1, intercept=0), tmp_path)

    assert png(instance, window=Window(40, 400)).tolist() == EXPECTED_40_400.tolist()
    assert png(instance).tolist() == [[0, 128, 133, 255], [107, 158, 158, 107]]  # its own range, −1000…1000


def test_monochrome1_shows_the_lowest_value_as_white(tmp_path):
    stored = (HU + 1024).astype(np.uint16)
    instance = store(image_dataset(stored, photometric="MONOCHROME1", slope=1, intercept=-1024), tmp_path)

    assert png(instance, window=Window(40, 400)).tolist() == (255 - EXPECTED_40_400).tolist()


def test_without_a_requested_window_the_files_first_window_is_used(tmp_path):
    stored = (HU + 1024).astype(np.uint16)
    ds = image_dataset(stored, slope=1, intercept=-1024, WindowCenter=[40, 400], WindowWidth=[400, 1800])
    instance = store(ds, tmp_path)

    assert png(instance).tolist() == EXPECTED_40_400.tolist()


def test_a_voi_lut_sequence_is_used_when_the_file_has_no_window(tmp_path):
    ds = image_dataset(np.array([[0, 1], [2, 7]], dtype=np.uint8))
    item = Dataset()
    item.add_new(0x00283002, "US", [3, 0, 8])  # LUT Descriptor: 3 entries, the first maps value 0, 8 bits
    item.add_new(0x00283006, "US", [0, 100, 255])  # LUT Data
    ds.VOILUTSequence = [item]
    instance = store(ds, tmp_path)

    # Values past the last entry take the last entry (PS3.3 C.11.2.1.1).
    assert png(instance).tolist() == [[0, 100], [255, 255]]


def test_a_modality_lut_sequence_replaces_the_rescale(tmp_path):
    ds = image_dataset(np.array([[0, 1], [2, 3]], dtype=np.uint16))
    item = Dataset()
    item.add_new(0x00283002, "US", [4, 0, 16])  # LUT Descriptor
    item.add_new(0x00283006, "US", [0, 1000, 2000, 3000])  # LUT Data: stored value → modality value
    item.ModalityLUTType = "US"
    ds.ModalityLUTSequence = [item]
    instance = store(ds, tmp_path)

    expected = [[0, 85], [170, 255]]
    assert png(instance, window=Window(1500, 3000, rendering.LINEAR_EXACT)).tolist() == expected
    assert png(instance).tolist() == expected  # its own range: 0…3000 after the modality LUT


def test_without_any_voi_the_frames_own_range_fills_the_display(tmp_path):
    stored = np.array([[100, 300], [500, 200]], dtype=np.uint16)
    instance = store(image_dataset(stored, slope=2, intercept=-1000), tmp_path)

    assert png(instance).tolist() == [[0, 128], [255, 64]]


def test_linear_exact_and_sigmoid_follow_their_formulas(tmp_path):
    instance = store(image_dataset(np.array([[-50, 0, 25, 50]], dtype=np.int16)), tmp_path)

    assert png(instance, window=Window(0, 100, rendering.LINEAR_EXACT)).tolist() == [[0, 128, 191, 255]]
    # C.11.2.1.3.1: y = 1 / (1 + exp(−4 (x − c) / w))
    expected = np.rint(255 / (1 + np.exp(-4 * np.array([-50, 0, 25, 50]) / 100))).astype(int)
    assert png(instance, window=Window(0, 100, rendering.SIGMOID)).tolist() == [expected.tolist()]


def test_the_head_phantom_matches_pydicoms_reference_windowing(tmp_path):
    path = sorted(CT_HEAD.iterdir())[70]
    instance = store_file(path)
    ds = Dataset()
    hu = apply_modality_lut(pixel_array(path, ds_out=ds), ds)
    ds.WindowCenter, ds.WindowWidth = 40, 400
    reference = apply_windowing(hu, ds)
    # pydicom windows into the rescaled range of the stored bits; bring that range to 0–255.
    low = float(ds.RescaleIntercept)
    high = (2**ds.BitsStored - 1) * float(ds.RescaleSlope) + low
    expected = np.rint((reference - low) / (high - low) * 255)

    rendered = png(instance, window=Window(40, 400)).astype(int)
    assert np.abs(rendered - expected).max() <= 1
    assert rendered.std() > 10  # an actual picture, not a flat field


def test_only_the_requested_frame_of_a_multiframe_image_is_shown(tmp_path):
    frames = np.stack([np.full((4, 4), value, dtype=np.uint16) for value in (0, 100, 200)])
    instance = store(image_dataset(frames, WindowCenter=100, WindowWidth=200), tmp_path)
    assert instance.number_of_frames == 3

    assert {int(png(instance, n).mean()) for n in (1, 2, 3)} == {0, 128, 255}
    assert png(instance, 2).max() == 128
    for missing in (0, 4):
        with pytest.raises(rendering.FrameOutOfRange, match="3 frames"):
            render_frame(instance, missing, ImageOptions())


def test_enhanced_multiframe_rescale_and_window_come_from_the_functional_groups(tmp_path):
    frames = np.stack([np.full((2, 2), 1064, dtype=np.uint16), np.full((2, 2), 1064, dtype=np.uint16)])
    ds = image_dataset(frames)

    def group(**values):
        item, inner = Dataset(), Dataset()
        for keyword, value in values.items():
            setattr(inner, keyword, value)
        return item, inner

    shared, voi = group(WindowCenter=40, WindowWidth=400)
    shared.FrameVOILUTSequence = [voi]
    per_frame = []
    for intercept in (-1024, -2024):  # frame 1: HU 40; frame 2: HU −960
        item, transform = group(RescaleSlope=1, RescaleIntercept=intercept, RescaleType="HU")
        item.PixelValueTransformationSequence = [transform]
        per_frame.append(item)
    ds.SharedFunctionalGroupsSequence = [shared]
    ds.PerFrameFunctionalGroupsSequence = per_frame
    instance = store(ds, tmp_path)

    assert png(instance, 1).tolist() == [[128, 128], [128, 128]]
    assert png(instance, 2).tolist() == [[0, 0], [0, 0]]


def test_palette_color_images_are_shown_through_their_palette(tmp_path):
    ds = image_dataset(np.array([[0, 255], [128, 64]], dtype=np.uint8), photometric="PALETTE COLOR")
    entries = np.arange(256, dtype=np.uint16)
    for colour, values in (("Red", entries * 257), ("Green", (255 - entries) * 257), ("Blue", np.zeros(256, np.uint16))):
        setattr(ds, f"{colour}PaletteColorLookupTableDescriptor", [256, 0, 16])
        setattr(ds, f"{colour}PaletteColorLookupTableData", values.astype("<u2").tobytes())
    instance = store(ds, tmp_path)

    assert png(instance).tolist() == [[[0, 255, 0], [255, 0, 0]], [[128, 127, 0], [64, 191, 0]]]


def test_rgb_is_shown_as_is_and_windowed_only_on_request(tmp_path):
    rgb = np.array([[[255, 0, 0], [0, 128, 255]]], dtype=np.uint8)
    instance = store(image_dataset(rgb, photometric="RGB"), tmp_path)

    assert png(instance).tolist() == rgb.tolist()
    # linear-exact 64/128 spans 0…128: every channel value from 128 up becomes 255.
    assert png(instance, window=Window(64, 128, rendering.LINEAR_EXACT)).tolist() == [[[255, 0, 0], [0, 255, 255]]]


def test_ybr_full_is_converted_to_rgb(tmp_path):
    # PS3.3 C.7.6.3.1.2: YBR_FULL of pure red is Y = 76.2, Cb = 85.0, Cr = 255.5 (clipped to 255).
    ybr = np.array([[[128, 128, 128], [76, 85, 255]]], dtype=np.uint8)
    instance = store(image_dataset(ybr, photometric="YBR_FULL", sop_class="1.2.840.10008.5.1.4.1.1.7"), tmp_path)

    gray, red = png(instance)[0].astype(int)
    assert gray.tolist() == [128, 128, 128]
    assert np.abs(red - [255, 0, 0]).max() <= 2


def test_a_viewport_scales_the_image_to_fit_keeping_its_aspect_ratio(tmp_path):
    instance = store(image_dataset(np.zeros((40, 80), dtype=np.uint16)), tmp_path)

    assert png(instance, viewport=rendering.Viewport(20, 20)).shape == (10, 20)
    assert png(instance, viewport=rendering.Viewport(200, 10, (0, 0, 40, 40))).shape == (10, 10)
    assert png(instance, max_side=16).shape == (8, 16)
    assert png(instance, max_side=128).shape == (40, 80)  # thumbnails never enlarge


def test_an_instance_without_pixel_data_is_refused_with_a_reason(tmp_path):
    ds = image_dataset(np.zeros((2, 2), dtype=np.uint16), sop_class="1.2.840.10008.5.1.4.1.1.88.11")
    for keyword in ("Rows", "Columns", "PixelData", "BitsAllocated", "BitsStored", "HighBit", "PixelRepresentation"):
        delattr(ds, keyword)
    instance = store(ds, tmp_path)

    with pytest.raises(rendering.NoPixelData, match="no pixel data"):
        render_frame(instance, 1, ImageOptions())
