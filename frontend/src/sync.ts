/** Synchronized scrolling by patient position (not by image index): the position of each image
 * along its series' normal, and the image of another series nearest to a given position.
 * Pure functions of DICOM JSON, tested without a browser (sync.test.ts). */
import { type DicomJson, Tag, numbers, text } from "./dicomjson";

export type Vec3 = [number, number, number];

/** The slice normal: row direction × column direction of (0020,0037) (PS3.3 C.7.6.2.1.1). */
export function normalOf(orientation: number[]): Vec3 | undefined {
  if (orientation.length !== 6) return undefined;
  const [rx, ry, rz, cx, cy, cz] = orientation;
  const n: Vec3 = [ry * cz - rz * cy, rz * cx - rx * cz, rx * cy - ry * cx];
  const length = Math.hypot(...n);
  return length > 0 ? [n[0] / length, n[1] / length, n[2] / length] : undefined;
}

export function dot(a: Vec3, b: Vec3): number {
  return a[0] * b[0] + a[1] * b[1] + a[2] * b[2];
}

/** Where a series' images lie: each image's (0020,0032) projected on the series normal, in mm. */
export interface SeriesPositions {
  frameOfReferenceUID: string;
  normal: Vec3;
  positions: number[];
}

/** The positions of a series' images (in display order); undefined when an image has no plane
 * (a projection radiograph, a secondary capture), which then cannot be synchronized. */
export function seriesPositions(instances: DicomJson[]): SeriesPositions | undefined {
  const first = instances[0];
  const normal = first ? normalOf(numbers(first, Tag.ImageOrientationPatient)) : undefined;
  if (!normal) return undefined;
  const positions: number[] = [];
  for (const instance of instances) {
    const ipp = numbers(instance, Tag.ImagePositionPatient);
    if (ipp.length !== 3) return undefined;
    positions.push(dot(ipp as Vec3, normal));
  }
  return { frameOfReferenceUID: text(first, Tag.FrameOfReferenceUID), normal, positions };
}

/** Two series are parallel (synchronizable by position) when their normals agree within ~5°. */
export function parallel(a: SeriesPositions, b: SeriesPositions): boolean {
  return Math.abs(dot(a.normal, b.normal)) > Math.cos((5 * Math.PI) / 180);
}

/** The index of the image nearest to ``position`` (mm along ``series.normal``). */
export function nearestIndex(series: SeriesPositions, position: number): number {
  let best = 0;
  let bestDistance = Number.POSITIVE_INFINITY;
  series.positions.forEach((p, i) => {
    const distance = Math.abs(p - position);
    if (distance < bestDistance) {
      best = i;
      bestDistance = distance;
    }
  });
  return best;
}

/**
 * The image of ``target`` to show when ``source`` shows image ``sourceIndex``.
 *
 * Same frame of reference (one acquisition, or a PET and its CT): the same patient position,
 * as is. Different frames of reference (two studies of the patient on different days): the
 * positions are only comparable up to the table offset, so ``offset`` (target − source, in mm,
 * taken when the reader linked the viewports) is added. Antiparallel normals (one series
 * stored feet-first) are handled by projecting on the target's normal.
 */
export function syncedIndex(source: SeriesPositions, sourceIndex: number, target: SeriesPositions, offset = 0): number | undefined {
  if (!parallel(source, target)) return undefined;
  const sign = dot(source.normal, target.normal) < 0 ? -1 : 1;
  const position = source.positions[sourceIndex];
  if (position === undefined) return undefined;
  return nearestIndex(target, sign * position + offset);
}

/** The offset to keep when two viewports are linked where they stand (different frames of
 * reference): target − source position, on the target's normal; 0 for one frame of reference. */
export function linkOffset(source: SeriesPositions, sourceIndex: number, target: SeriesPositions, targetIndex: number): number {
  if (source.frameOfReferenceUID && source.frameOfReferenceUID === target.frameOfReferenceUID) return 0;
  const sign = dot(source.normal, target.normal) < 0 ? -1 : 1;
  return (target.positions[targetIndex] ?? 0) - sign * (source.positions[sourceIndex] ?? 0);
}
