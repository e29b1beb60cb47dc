import { describe, expect, it } from "vitest";
import { hang, hangComparison, type SeriesSummary } from "./hangingProtocol";

let counter = 0;
function series(modality: string, instanceCount: number, extra: Partial<SeriesSummary> = {}): SeriesSummary {
  counter += 1;
  return {
    studyInstanceUID: "1.2.3",
    seriesInstanceUID: `1.2.3.${counter}`,
    modality,
    seriesNumber: counter,
    description: "",
    bodyPart: "",
    instanceCount,
    ...extra,
  };
}

describe("hang", () => {
  it("puts the largest CT series alone in one viewport", () => {
    const scout = series("CT", 2, { description: "Scout" });
    const axial = series("CT", 140);
    const hanging = hang([scout, axial]);
    expect(hanging.layout).toEqual({ rows: 1, columns: 1 });
    expect(hanging.viewports.map((v) => v.seriesInstanceUID)).toEqual([axial.seriesInstanceUID]);
    expect(hanging.protocol).toBe("ct");
  });

  it("chooses the CT preset from the body part", () => {
    expect(hang([series("CT", 10, { bodyPart: "HEAD" })]).viewports[0].preset?.name).toBe("Brain");
    expect(hang([series("CT", 10, { bodyPart: "CHEST" })]).viewports[0].preset?.name).toBe("Lung");
    expect(hang([series("CT", 10, { bodyPart: "ABDOMEN" })]).viewports[0].preset?.name).toBe("Soft tissue");
    expect(hang([series("CT", 10, { bodyPart: "LSPINE" })]).viewports[0].preset?.name).toBe("Bone");
  });

  it("falls back to the series description, then to the image's own window", () => {
    expect(hang([series("CT", 10, { description: "Thorax 1mm" })]).viewports[0].preset?.name).toBe("Lung");
    expect(hang([series("CT", 10, { description: "phantom" })]).viewports[0].preset).toBeUndefined();
  });

  it("hangs MR series side by side in series-number order, without localizers", () => {
    const loc = series("MR", 3, { description: "localizer" });
    const t2 = series("MR", 40, { description: "T2 FS" });
    const t1 = series("MR", 40, { description: "T1" });
    const hanging = hang([t1, loc, t2]);
    expect(hanging.protocol).toBe("mr");
    expect(hanging.layout).toEqual({ rows: 1, columns: 2 });
    expect(hanging.viewports.map((v) => v.seriesInstanceUID)).toEqual([t2.seriesInstanceUID, t1.seriesInstanceUID]);
    expect(hanging.viewports.every((v) => v.preset === undefined)).toBe(true);
  });

  it("uses a 2x2 layout for three or more MR series and never more than four", () => {
    const many = [1, 2, 3, 4, 5].map(() => series("MR", 20));
    const hanging = hang(many);
    expect(hanging.layout).toEqual({ rows: 2, columns: 2 });
    expect(hanging.viewports).toHaveLength(4);
  });

  it("puts the CT and the PET of a PET/CT side by side", () => {
    const ct = series("CT", 59, { bodyPart: "CHEST" });
    const pet = series("PT", 267);
    const rt = series("RTSTRUCT", 1);
    const hanging = hang([rt, pet, ct]);
    expect(hanging.protocol).toBe("pet-ct");
    expect(hanging.layout).toEqual({ rows: 1, columns: 2 });
    expect(hanging.viewports.map((v) => v.seriesInstanceUID)).toEqual([ct.seriesInstanceUID, pet.seriesInstanceUID]);
    expect(hanging.viewports[0].preset?.name).toBe("Lung");
  });

  it("never hangs a structured report or segmentation, and survives an empty study", () => {
    expect(hang([series("SR", 1), series("SEG", 1)]).viewports).toEqual([]);
    expect(hang([]).protocol).toBe("empty");
  });
});

describe("hangComparison", () => {
  it("shows the main series of each study side by side", () => {
    const a = [series("CT", 100), series("CT", 3)];
    const b = [series("CT", 80)];
    const hanging = hangComparison([a, b]);
    expect(hanging.layout).toEqual({ rows: 1, columns: 2 });
    expect(hanging.viewports.map((v) => v.seriesInstanceUID)).toEqual([a[0].seriesInstanceUID, b[0].seriesInstanceUID]);
  });
});
