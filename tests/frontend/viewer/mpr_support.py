"""Shared by the viewer browser tests: ingesting samples as alice's, reading canvases as arrays,
waiting for volumes, dragging a measurement tool."""
from __future__ import annotations

import base64
import io
from pathlib import Path

import numpy as np
from PIL import Image

from studies.ingest import Origin, ingest_file
from tests.conftest import sample


def ingest(folder: str, owner) -> int:
    paths = [p for p in sorted(sample(folder).rglob("*")) if p.is_file()]
    for path in paths:
        assert ingest_file(path, origin=Origin(user_id=owner.id)).ok, path
    return len(paths)


def canvas_rgb(locator) -> np.ndarray:
    url = locator.evaluate("c => c.toDataURL('image/png')")
    return np.asarray(Image.open(io.BytesIO(base64.b64decode(url.split(",", 1)[1]))).convert("RGB"), dtype=float)


def gray(rgb: np.ndarray) -> np.ndarray:
    return rgb.mean(axis=2)


def colored_fraction(rgb: np.ndarray, saturation: float = 40) -> float:
    """Share of pixels with colour (max − min channel above ``saturation``): grey images have none."""
    return float(((rgb.max(axis=2) - rgb.min(axis=2)) > saturation).mean())


def bbox_aspect(image: np.ndarray, level: float = 30) -> float:
    """Height / width of the box around the pixels brighter than ``level`` (the object on screen)."""
    rows = np.where((image > level).any(axis=1))[0]
    cols = np.where((image > level).any(axis=0))[0]
    return (rows[-1] - rows[0] + 1) / (cols[-1] - cols[0] + 1)


def open_viewer(page, study_uid: str, query: str = "") -> None:
    page.goto(f"/studies/{study_uid}/viewer/{query}")
    page.wait_for_selector("#viewer[data-state=ready]", timeout=90_000)


def wait_volumes(page) -> None:
    page.wait_for_selector("#volume-grid[data-volume=loaded]", timeout=90_000)


def wait_new_render(page, cell_selector: str, before: str | None) -> None:
    """Wait until the cell was drawn again after ``before`` (its data-renders count)."""
    page.wait_for_function(
        "([sel, n]) => { const c = document.querySelector(sel); return c && c.dataset.renders && c.dataset.renders !== n; }",
        arg=[cell_selector, before or ""],
        timeout=30_000,
    )


def save(page, folder: Path, name: str) -> None:
    page.screenshot(path=folder / name)


def drag(page, start: tuple[float, float], end: tuple[float, float], steps: int = 10) -> None:
    """A left-button drag from ``start`` to ``end`` (page pixels) in ``steps`` moves, as a
    measurement tool needs it: Cornerstone tells a drag from a double click by time."""
    page.mouse.move(*start)
    page.mouse.down()
    page.wait_for_timeout(150)
    for step in range(1, steps + 1):
        page.mouse.move(start[0] + (end[0] - start[0]) * step / steps, start[1] + (end[1] - start[1]) * step / steps)
        page.wait_for_timeout(20)
    page.mouse.up()
