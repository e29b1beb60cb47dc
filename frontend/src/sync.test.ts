import { describe, expect, it } from "vitest";
import type { DicomJson } from "./dicomjson";
import { linkOffset, nearestIndex, normalOf, seriesPositions, syncedIndex } from "./sync";

function slice(z: number, frameOfReference = "1.2.3", orientation = [1, 0, 0, 0, 1, 0], x = 0): DicomJson {
  return {
    "00200032": { vr: "DS", Value: [x, -100, z] },
    "00200037": { vr: "DS", Value: orientation },
    "00200052": { vr: "UI", Value: [frameOfReference] },
  };
}

describe("positions along the normal", () => {
  it("takes the normal as row × column", () => {
    expect(normalOf([1, 0, 0, 0, 1, 0])).toEqual([0, 0, 1]);
    expect(normalOf([0, 1, 0, 0, 0, -1])).toEqual([-1, 0, 0]); // sagittal
    expect(normalOf([1, 0, 0])).toBeUndefined();
  });

  it("projects each image position, not its index", () => {
    const series = seriesPositions([slice(10), slice(7.5), slice(5)])!;
    expect(series.positions).toEqual([10, 7.5, 5]);
    expect(nearestIndex(series, 6)).toBe(2);
    expect(nearestIndex(series, 8)).toBe(1);
  });

  it("refuses images without a plane", () => {
    expect(seriesPositions([{ "00200037": { vr: "DS", Value: [1, 0, 0, 0, 1, 0] } }])).toBeUndefined();
  });
});

describe("synchronized scrolling", () => {
  // A 1 mm CT from z=0 to z=139 and a 3.27 mm PET in the same frame of reference, stored the other way round.
  const ct = seriesPositions(Array.from({ length: 140 }, (_, i) => slice(i)))!;
  const pet = seriesPositions(Array.from({ length: 43 }, (_, i) => slice(140 - 3.27 * i)))!;

  it("goes to the same patient position in the same frame of reference", () => {
    // CT image 70 is z=70; the PET slice nearest z=70 is i with 140-3.27i ≈ 70 → i = 21 (z=71.33).
    expect(syncedIndex(ct, 70, pet)).toBe(21);
    expect(syncedIndex(pet, 21, ct)).toBe(71);
    expect(linkOffset(ct, 70, pet, 3)).toBe(0);
  });

  it("keeps the table offset between studies in different frames of reference", () => {
    const earlier = seriesPositions(Array.from({ length: 50 }, (_, i) => slice(200 + 2 * i, "9.9.9")))!;
    // Linked with CT image 10 (z=10) beside earlier image 5 (z=210): offset +200 mm.
    const offset = linkOffset(ct, 10, earlier, 5);
    expect(offset).toBe(200);
    expect(syncedIndex(ct, 40, earlier, offset)).toBe(20); // z=40 ↔ z=240
  });

  it("does not synchronize series that are not parallel", () => {
    const sagittal = seriesPositions([slice(0, "1.2.3", [0, 1, 0, 0, 0, -1], -5), slice(0, "1.2.3", [0, 1, 0, 0, 0, -1], 5)])!;
    expect(syncedIndex(ct, 10, sagittal)).toBeUndefined();
  });
});
