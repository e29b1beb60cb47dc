/** A CSP-safe stand-in for the "ndarray" package, which compiles its accessors with
 * `new Function` (blocked by our script-src without 'unsafe-eval'). @cornerstonejs/adapters only
 * uses row-major arrays built as ndarray(data, shape) with .data, .shape, .get and .set. */
type Data = { length: number; [index: number]: number };

export interface NdArray {
  data: Data;
  shape: number[];
  stride: number[];
  offset: number;
  size: number;
  dimension: number;
  index(...indices: number[]): number;
  get(...indices: number[]): number;
  set(...args: number[]): number;
}

export default function ndarray(data: Data, shape: number[] = [data.length], stride?: number[], offset = 0): NdArray {
  const strides = stride ?? shape.map((_, d) => shape.slice(d + 1).reduce((a, b) => a * b, 1));
  const index = (...indices: number[]) => indices.reduce((sum, value, d) => sum + value * strides[d], offset);
  return {
    data,
    shape,
    stride: strides,
    offset,
    size: shape.reduce((a, b) => a * b, 1),
    dimension: shape.length,
    index,
    get: (...indices: number[]) => data[index(...indices)],
    set: (...args: number[]) => {
      const value = args[args.length - 1];
      data[index(...args.slice(0, -1))] = value;
      return value;
    },
  };
}
