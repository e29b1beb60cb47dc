import { describe, expect, it } from "vitest";
import { filterRows, tagRows } from "./tags";

const dictionary = (tag: string) =>
  ({ "(0010,0010)": { name: "PatientName" }, "(0028,0030)": { name: "PixelSpacing" }, "(0008,1140)": { name: "ReferencedImageSequence" } })[tag];

const json = {
  "00100010": { vr: "PN", Value: [{ Alphabetic: "<img src=x onerror=alert(1)>^JOHN" }] },
  "00280030": { vr: "DS", Value: [0.48828125, 0.48828125] },
  "00081140": { vr: "SQ", Value: [{ "00081155": { vr: "UI", Value: ["1.2.3"] } }] },
  "7FE00010": { vr: "OW", BulkDataURI: "http://x/bulkdata/7FE00010" },
};

describe("tag browser rows", () => {
  it("lists every attribute in tag order with its name, nested sequence items and plain text values", () => {
    const rows = tagRows(json, dictionary);
    expect(rows.map((r) => [r.tag, r.name, r.depth])).toEqual([
      ["(0008,1140)", "ReferencedImageSequence", 0],
      ["(0008,1155)", "", 1],
      ["(0010,0010)", "PatientName", 0],
      ["(0028,0030)", "PixelSpacing", 0],
      ["(7FE0,0010)", "", 0],
    ]);
    expect(rows[2].value).toBe("<img src=x onerror=alert(1)>^JOHN");
    expect(rows[3].value).toBe("0.48828125\\0.48828125");
    expect(rows[0].value).toBe("1 item");
    expect(rows[4].value).toBe("(bulk data)");
  });

  it("finds rows by keyword, tag with or without punctuation, and value", () => {
    const rows = tagRows(json, dictionary);
    expect(filterRows(rows, "spacing").map((r) => r.tag)).toEqual(["(0028,0030)"]);
    expect(filterRows(rows, "00100010").map((r) => r.tag)).toEqual(["(0010,0010)"]);
    expect(filterRows(rows, "john patient").map((r) => r.tag)).toEqual(["(0010,0010)"]);
    expect(filterRows(rows, "")).toHaveLength(5);
  });
});
