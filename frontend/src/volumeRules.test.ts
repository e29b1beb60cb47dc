import { describe, expect, it } from "vitest";
import type { DicomJson } from "./dicomjson";
import type { SeriesSummary } from "./hangingProtocol";
import { fusionPair, sameFrameOfReference, volumeCheck } from "./volumeRules";

function image(z: number, { orientation = [1, 0, 0, 0, 1, 0], rows = 512, frames = 1, frameOfReference = "1.2" } = {}): DicomJson {
  return {
    "00200032": { vr: "DS", Value: [0, 0, z] },
    "00200037": { vr: "DS", Value: orientation },
    "00280010": { vr: "US", Value: [rows] },
    "00280011": { vr: "US", Value: [512] },
    "00280008": { vr: "IS", Value: [frames] },
    "00200052": { vr: "UI", Value: [frameOfReference] },
  };
}

const series = (modality: string, instanceCount: number, description = ""): SeriesSummary => ({
  studyInstanceUID: "1",
  seriesInstanceUID: `${modality}.${instanceCount}.${description}`,
  modality,
  description,
  bodyPart: "",
  instanceCount,
});

describe("volumes", () => {
  it("accepts an evenly spaced axial series", () => {
    expect(volumeCheck(Array.from({ length: 140 }, (_, i) => image(i))).ok).toBe(true);
  });

  it("refuses gaps, mixed orientations, mixed matrices, multi-frame images and short series", () => {
    const gap = [0, 1, 2, 5, 6].map((z) => image(z));
    expect(volumeCheck(gap)).toEqual({ ok: false, reason: "uneven slice spacing" });
    expect(volumeCheck([image(0), image(1), image(2, { orientation: [0, 1, 0, 0, 0, -1] })]).reason).toBe("mixed orientations");
    expect(volumeCheck([image(0), image(1), image(2, { rows: 256 })]).reason).toBe("mixed matrix sizes");
    expect(volumeCheck([image(0, { frames: 64 }), image(1), image(2)]).reason).toBe("multi-frame images");
    expect(volumeCheck([image(0), image(1)]).ok).toBe(false);
    expect(volumeCheck([image(0), image(0), image(0)]).reason).toBe("uneven slice spacing");
  });
});

describe("fusion", () => {
  it("fuses the largest CT with the attenuation-corrected PET", () => {
    const pair = fusionPair([series("CT", 2, "Topogram"), series("CT", 59), series("PT", 267, "PET NAC"), series("PT", 267, "PET AC"), series("RTSTRUCT", 1)]);
    expect(pair?.ct.instanceCount).toBe(59);
    expect(pair?.pt.description).toBe("PET AC");
  });

  it("has nothing to fuse without both a CT and a PET", () => {
    expect(fusionPair([series("CT", 140)])).toBeUndefined();
    expect(fusionPair([series("PT", 267), series("MR", 40)])).toBeUndefined();
  });

  it("fuses only within one frame of reference", () => {
    expect(sameFrameOfReference([image(0)], [image(0)])).toBe(true);
    expect(sameFrameOfReference([image(0)], [image(0, { frameOfReference: "9.9" })])).toBe(false);
  });
});
