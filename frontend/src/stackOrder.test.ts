import { describe, expect, it } from "vitest";
import type { DicomJson } from "./dicomjson";
import { nearestSlice, orderInstances } from "./stackOrder";
import { markersFor, directionLetters } from "./orientation";
import { displayDate, displayName, text } from "./dicomjson";
import { frameImageId, parseImageId } from "./imageIds";

function instance(sop: string, z: number | null, instanceNumber: number): DicomJson {
  const json: DicomJson = {
    "00080018": { vr: "UI", Value: [sop] },
    "00200013": { vr: "IS", Value: [instanceNumber] },
  };
  if (z !== null) {
    json["00200032"] = { vr: "DS", Value: [0, 0, z] };
    json["00200037"] = { vr: "DS", Value: [1, 0, 0, 0, 1, 0] };
  }
  return json;
}

describe("orderInstances", () => {
  it("orders along the slice normal, whatever the instance numbers say", () => {
    const ordered = orderInstances([instance("a", 10, 1), instance("b", -5, 2), instance("c", 2.5, 3)]);
    expect(ordered.map((i) => text(i, "00080018"))).toEqual(["b", "c", "a"]);
  });

  it("falls back to InstanceNumber when a slice has no geometry", () => {
    const ordered = orderInstances([instance("a", 10, 3), instance("b", null, 1), instance("c", 2.5, 2)]);
    expect(ordered.map((i) => text(i, "00080018"))).toEqual(["b", "c", "a"]);
  });
});

describe("nearestSlice", () => {
  const withFrame = (sop: string, z: number, frame: string): DicomJson => ({ ...instance(sop, z, 1), "00200052": { vr: "UI", Value: [frame] } });
  const slices = [withFrame("a", 0, "9.9"), withFrame("b", 1, "9.9"), withFrame("c", 2, "9.9"), withFrame("d", 1.4, "8.8")];

  it("finds the acquired slice a point of a reformatted view is closest to, in its frame of reference", () => {
    expect(nearestSlice(slices, [30, -12, 1.4], "9.9")).toBe(1);
    expect(nearestSlice(slices, [0, 0, 1.6], "9.9")).toBe(2);
    expect(nearestSlice(slices, [0, 0, 1.6], "8.8")).toBe(3);
  });

  it("finds none in another frame of reference or without geometry", () => {
    expect(nearestSlice(slices, [0, 0, 1], "7.7")).toBeUndefined();
    expect(nearestSlice([{ ...instance("e", null, 1), "00200052": { vr: "UI", Value: ["9.9"] } }], [0, 0, 0], "9.9")).toBeUndefined();
  });
});

describe("orientation markers", () => {
  it("reads an axial image the radiological way: anterior up, patient's left on the right", () => {
    // The camera Cornerstone sets for IOP 1\0\0\0\1\0: viewUp = -column, normal = column × row.
    expect(markersFor([0, -1, 0], [0, 0, -1])).toEqual({ top: "A", bottom: "P", left: "R", right: "L" });
  });

  it("reads a coronal image: head up, patient's left on the right", () => {
    expect(markersFor([0, 0, 1], [0, -1, 0])).toEqual({ top: "H", bottom: "F", left: "R", right: "L" });
  });

  it("names oblique directions by their two strongest components", () => {
    expect(directionLetters([0.7, 0.7, 0.1])).toBe("LP");
    expect(directionLetters([-0.1, 0, -0.99])).toBe("F");
  });
});

describe("DICOM JSON text", () => {
  it("shows person names and dates readably", () => {
    expect(displayName("DOE^JOHN^^DR")).toBe("DOE, DR JOHN");
    expect(displayName("HEAD")).toBe("HEAD");
    expect(displayDate("20150904")).toBe("2015-09-04");
    expect(text({ "00100010": { vr: "PN", Value: [{ Alphabetic: "<b>X</b>^Y" }] } }, "00100010")).toBe("<b>X</b>^Y");
  });
});

describe("image ids", () => {
  it("round-trips a DICOMweb frame reference", () => {
    const ref = { studyInstanceUID: "1.2", seriesInstanceUID: "1.2.3", sopInstanceUID: "1.2.3.4", frame: 7 };
    const id = frameImageId("http://127.0.0.1:8000/dicomweb", ref);
    expect(id).toBe("wadors:http://127.0.0.1:8000/dicomweb/studies/1.2/series/1.2.3/instances/1.2.3.4/frames/7");
    expect(parseImageId(id)).toEqual(ref);
    expect(parseImageId("wadouri:file.dcm")).toBeUndefined();
  });
});
