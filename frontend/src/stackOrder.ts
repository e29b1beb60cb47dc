/** Reading order of a series' instances: along the slice normal when the geometry says so,
 * then InstanceNumber (the same rule as the server's studies/ordering.py). */
import { type DicomJson, Tag, number, numbers, text } from "./dicomjson";

export type Vec3 = [number, number, number];

export function cross(a: Vec3, b: Vec3): Vec3 {
  return [a[1] * b[2] - a[2] * b[1], a[2] * b[0] - a[0] * b[2], a[0] * b[1] - a[1] * b[0]];
}

export function dot(a: Vec3, b: Vec3): number {
  return a[0] * b[0] + a[1] * b[1] + a[2] * b[2];
}

/** Position along the slice normal, or undefined without ImagePositionPatient/Orientation. */
export function slicePosition(instance: DicomJson): number | undefined {
  const ipp = numbers(instance, Tag.ImagePositionPatient);
  const iop = numbers(instance, Tag.ImageOrientationPatient);
  if (ipp.length !== 3 || iop.length !== 6) return undefined;
  const normal = cross(iop.slice(0, 3) as Vec3, iop.slice(3, 6) as Vec3);
  return dot(normal, ipp as Vec3);
}

export function orderInstances(instances: DicomJson[]): DicomJson[] {
  const keyed = instances.map((instance, index) => ({
    instance,
    index,
    position: slicePosition(instance),
    number: number(instance, Tag.InstanceNumber),
    time: text(instance, Tag.AcquisitionTime),
  }));
  const allPositioned = keyed.every((k) => k.position !== undefined);
  keyed.sort((a, b) => {
    if (allPositioned && a.position !== b.position) return (a.position as number) - (b.position as number);
    if (a.number !== undefined && b.number !== undefined && a.number !== b.number) return a.number - b.number;
    if (a.time !== b.time) return a.time < b.time ? -1 : 1;
    return a.index - b.index;
  });
  return keyed.map((k) => k.instance);
}

/** The index of the instance whose image plane ``point`` (patient coordinates) is closest to,
 * among those in ``frameOfReferenceUID``; undefined when none is (or has no geometry). */
export function nearestSlice(instances: DicomJson[], point: Vec3, frameOfReferenceUID: string): number | undefined {
  let nearest: number | undefined;
  let smallest = Infinity;
  instances.forEach((instance, index) => {
    const ipp = numbers(instance, Tag.ImagePositionPatient);
    const iop = numbers(instance, Tag.ImageOrientationPatient);
    if (text(instance, Tag.FrameOfReferenceUID) !== frameOfReferenceUID || ipp.length !== 3 || iop.length !== 6) return;
    const normal = cross(iop.slice(0, 3) as Vec3, iop.slice(3, 6) as Vec3);
    const distance = Math.abs(dot(normal, point) - dot(normal, ipp as Vec3));
    if (distance < smallest) [nearest, smallest] = [index, distance];
  });
  return nearest;
}
