import { describe, expect, it } from "vitest";
import ndarray from "./ndarray";

describe("the ndarray stand-in", () => {
  it("reads and writes a row-major 2D array as the SEG adapter does", () => {
    const a = ndarray(new Uint8Array([1, 2, 3, 4, 5, 6]), [2, 3]);
    expect(a.get(1, 0)).toBe(4);
    expect(a.get(0, 2)).toBe(3);
    a.set(1, 2, 9);
    expect(Array.from(a.data as Uint8Array)).toEqual([1, 2, 3, 4, 5, 9]);
    expect(a.shape).toEqual([2, 3]);
  });
});
