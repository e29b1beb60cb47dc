import { describe, expect, it } from "vitest";
import { presetOf, shownLayer, toRange, toWindow, windowCorner, windowReadout, windowedLayers, type VolumeLayer } from "./windowing";

describe("window ↔ VOI range", () => {
  it("converts as Cornerstone's LINEAR window does", () => {
    // Cornerstone: toLowHighRange(400, 40) = {-160, 239}; toWindowLevel back gives 40 / 400.
    expect(toRange({ center: 40, width: 400 })).toEqual({ lower: -160, upper: 239 });
    expect(toWindow({ lower: -160, upper: 239 })).toEqual({ center: 40, width: 400 });
    expect(toWindow(toRange({ center: -600, width: 1500 }))).toEqual({ center: -600, width: 1500 });
  });

  it("reads an inclusive range of N values as width N", () => {
    expect(toWindow({ lower: 0, upper: 255 })).toEqual({ center: 128, width: 256 });
  });
});

describe("readout and preset", () => {
  it("rounds like the sliders", () => {
    expect(windowReadout({ center: 40.4, width: 399.6 })).toBe("C 40 / W 400");
  });

  it("names the preset a window is", () => {
    expect(presetOf({ center: 400, width: 1800 })?.name).toBe("Bone");
    expect(presetOf(toWindow(toRange({ center: -600, width: 1500 })))?.name).toBe("Lung");
    expect(presetOf({ center: 41, width: 401 })).toBeUndefined();
  });
});

describe("what the window controls act on", () => {
  const mpr: VolumeLayer[] = ["mpr-axial", "mpr-coronal", "mpr-sagittal"].map((viewportId) => ({ viewportId, volumeId: "vol:ct", modality: "CT" }));
  const fusion: VolumeLayer[] = [
    { viewportId: "fusion", volumeId: "vol:ct", modality: "CT" },
    { viewportId: "fusion", volumeId: "vol:pt", modality: "PT" },
    { viewportId: "fusion-pt", volumeId: "vol:pt", modality: "PT" },
  ];

  it("sets the three MPR views together, a PET volume too", () => {
    expect(windowedLayers("mpr", mpr)).toEqual(mpr);
    const petMpr = mpr.map((l) => ({ ...l, modality: "PT" }));
    expect(windowedLayers("mpr", petMpr)).toHaveLength(3);
  });

  it("sets only the CT in fusion, never the PET overlay or the PET view", () => {
    expect(windowedLayers("fusion", fusion)).toEqual([fusion[0]]);
  });

  it("shows the clicked view's window, else the first view's", () => {
    expect(shownLayer(mpr, "mpr-sagittal")?.viewportId).toBe("mpr-sagittal");
    expect(shownLayer(mpr, undefined)?.viewportId).toBe("mpr-axial");
    // The PET view was clicked in fusion: the controls still show the CT's window.
    expect(shownLayer(windowedLayers("fusion", fusion), "fusion-pt")?.volumeId).toBe("vol:ct");
    expect(shownLayer([], "x")).toBeUndefined();
  });
});

describe("the window in a viewport's corner", () => {
  it("reads as in a stack viewport", () => {
    expect(windowCorner({ center: 40, width: 400 })).toBe("W 400  L 40");
  });
});
