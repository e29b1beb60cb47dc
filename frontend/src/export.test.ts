import { describe, expect, it } from "vitest";
import { exportName, placeOver } from "./export";

describe("placing an SVG layer over the canvas", () => {
  it("keeps a layer covering the canvas on the whole canvas at the device-pixel scale", () => {
    const box = { left: 200, top: 40, width: 600, height: 400 };
    expect(placeOver(box, { width: 1200, height: 800 }, box)).toEqual({ left: 0, top: 0, width: 1200, height: 800 });
  });

  it("moves and scales a layer offset from the canvas", () => {
    const canvas = { left: 100, top: 50, width: 500, height: 500 };
    const layer = { left: 90, top: 50, width: 520, height: 500 };
    expect(placeOver(canvas, { width: 750, height: 750 }, layer)).toEqual({ left: -15, top: 0, width: 780, height: 750 });
  });
});

describe("export file names", () => {
  it("name the series by UID digits and the image by its number, no patient text", () => {
    expect(exportName("1.2.840.113619.2.55.3", 69, "png")).toBe("lumen-1.2.840.113619.2.55.3-70.png");
    expect(exportName("PLASTIC HEAD", undefined, "webm")).toBe("lumen-viewport.webm");
  });
});
