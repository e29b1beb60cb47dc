import { describe, expect, it } from "vitest";
import { compareUrl, studyRows } from "./studyPicker";

describe("the study picker", () => {
  it("lists the patient's studies newest first", () => {
    const rows = studyRows([
      { "0020000D": { vr: "UI", Value: ["1.1"] }, "00080020": { vr: "DA", Value: ["20190101"] }, "00080061": { vr: "CS", Value: ["CT"] } },
      { "0020000D": { vr: "UI", Value: ["1.2"] }, "00080020": { vr: "DA", Value: ["20240101"] }, "00080061": { vr: "CS", Value: ["CT", "PT"] }, "00081030": { vr: "LO", Value: ["PET/CT"] } },
      { "00080020": { vr: "DA", Value: ["20240101"] } },
    ]);
    expect(rows.map((r) => r.studyInstanceUID)).toEqual(["1.2", "1.1"]);
    expect(rows[0]).toMatchObject({ modalities: "CT, PT", description: "PET/CT" });
  });

  it("opens at most three more studies beside the main one", () => {
    expect(compareUrl("/studies/1/viewer/", "1", ["1", "2", "3", "3", "4", "5"])).toBe("/studies/1/viewer/?compare=2,3,4");
    expect(compareUrl("/studies/1/viewer/", "1", ["1"])).toBe("/studies/1/viewer/");
  });
});
