import { describe, expect, it } from "vitest";
import type { DicomJson } from "./dicomjson";
import { suvFactors, suvInput } from "./suv";

// The tags of pet_ct/pet (TCIA STS_001 FDG PET, GE Discovery ST) as WADO-RS metadata gives them.
function petImage(overrides: DicomJson = {}): DicomJson {
  return {
    "00080021": { vr: "DA", Value: ["20000907"] },
    "00080031": { vr: "TM", Value: ["112011.00"] },
    "00080022": { vr: "DA", Value: ["20000907"] },
    "00080032": { vr: "TM", Value: ["112011.00"] },
    "00101030": { vr: "DS", Value: [71.0] },
    "00101020": { vr: "DS", Value: [1.63] },
    "00100040": { vr: "CS", Value: ["M"] },
    "00541001": { vr: "CS", Value: ["BQML"] },
    "00541102": { vr: "CS", Value: ["START"] },
    "00280051": { vr: "CS", Value: ["DECY", "ATTN", "SCAT", "DTIM", "RAN", "RADL", "DCAL", "SLSENS", "NORM"] },
    "00541300": { vr: "DS", Value: [1215000.0] },
    "00181242": { vr: "IS", Value: [240000] },
    "00540016": {
      vr: "SQ",
      Value: [
        {
          "00181072": { vr: "TM", Value: ["103500.00"] },
          "00181074": { vr: "DS", Value: [3.88777472e8] },
          "00181075": { vr: "DS", Value: [6588.0] },
        },
      ],
    },
    ...overrides,
  };
}

describe("SUV body weight", () => {
  it("matches the hand computation for the sample PET", () => {
    // Injected 10:35:00, series start 11:20:11 (decay correction to START): 2711 s after.
    // Dose at series start: 388,777,472 Bq × 2^(−2711/6588) = 292,297,777 Bq.
    // SUVbw factor = weight (g) / dose (Bq) = 71,000 / 292,297,777 = 2.42903e-4 g/Bq.
    const dt = 11 * 3600 + 20 * 60 + 11 - (10 * 3600 + 35 * 60);
    const byHand = 71000 / (3.88777472e8 * 2 ** (-dt / 6588));
    expect(byHand).toBeCloseTo(2.42903e-4, 9);
    const [factor] = suvFactors([petImage()])!;
    expect(factor).toBeCloseTo(byHand, 10);
    // A voxel of 5,000 Bq/ml is then SUV 1.21.
    expect(5000 * factor).toBeCloseTo(1.2145, 3);
  });

  it("gives one factor per image of the series", () => {
    expect(suvFactors([petImage(), petImage(), petImage()])).toHaveLength(3);
  });

  it("gives none without the weight or the injection, or for uncorrected counts", () => {
    expect(suvInput(petImage({ "00101030": { vr: "DS" } }))).toBeUndefined();
    expect(suvInput(petImage({ "00540016": { vr: "SQ", Value: [] } }))).toBeUndefined();
    expect(suvInput(petImage({ "00280051": { vr: "CS", Value: ["ATTN"] } }))).toBeUndefined();
    expect(suvFactors([petImage(), petImage({ "00541001": { vr: "CS", Value: ["GML"] } })])).toBeUndefined();
  });
});
