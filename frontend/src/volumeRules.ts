/** When a series can become a volume (MPR, fusion), which series of a study are fused, and the
 * PET colour map. Pure: tested in volumeRules.test.ts. */
import { type DicomJson, Tag, number, numbers, text } from "./dicomjson";
import type { SeriesSummary } from "./hangingProtocol";
import { isViewable } from "./hangingProtocol";
import { seriesPositions } from "./sync";

export interface VolumeCheck {
  ok: boolean;
  reason?: string;
}

/** A series is a volume when its single-frame images share one orientation and matrix and are
 * evenly spaced along the normal (within 10 % of the median gap): what the streaming volume
 * loader assumes. Gantry-tilted or irregular series are read as stacks. */
export function volumeCheck(instances: DicomJson[]): VolumeCheck {
  if (instances.length < 3) return { ok: false, reason: "fewer than 3 images" };
  if (instances.some((i) => (number(i, Tag.NumberOfFrames) ?? 1) > 1)) return { ok: false, reason: "multi-frame images" };
  const first = instances[0];
  const orientation = numbers(first, Tag.ImageOrientationPatient);
  const rows = number(first, Tag.Rows);
  const columns = number(first, Tag.Columns);
  for (const instance of instances) {
    const o = numbers(instance, Tag.ImageOrientationPatient);
    if (o.length !== 6 || o.some((v, k) => Math.abs(v - orientation[k]) > 1e-3)) return { ok: false, reason: "mixed orientations" };
    if (number(instance, Tag.Rows) !== rows || number(instance, Tag.Columns) !== columns) return { ok: false, reason: "mixed matrix sizes" };
  }
  const positions = seriesPositions(instances);
  if (!positions) return { ok: false, reason: "no image planes" };
  const sorted = [...positions.positions].sort((a, b) => a - b);
  const gaps = sorted.slice(1).map((p, i) => p - sorted[i]);
  const median = [...gaps].sort((a, b) => a - b)[Math.floor(gaps.length / 2)];
  if (!(median > 0) || gaps.some((g) => Math.abs(g - median) > 0.1 * median)) return { ok: false, reason: "uneven slice spacing" };
  return { ok: true };
}

/** The CT and PET to fuse in a study: the largest CT and the largest PET (attenuation-corrected
 * first: a NAC series says so in its description). */
export function fusionPair(series: SeriesSummary[]): { ct: SeriesSummary; pt: SeriesSummary } | undefined {
  const viewable = series.filter(isViewable);
  const largest = (list: SeriesSummary[]) => [...list].sort((a, b) => b.instanceCount - a.instanceCount)[0];
  const ct = largest(viewable.filter((s) => s.modality === "CT"));
  const pets = viewable.filter((s) => s.modality === "PT");
  const corrected = pets.filter((s) => !/\bNAC\b|NON.?AC|UNCORR/i.test(s.description));
  const pt = largest(corrected.length > 0 ? corrected : pets);
  return ct && pt ? { ct, pt } : undefined;
}

/** Whether two series may be fused: one frame of reference (PS3.3 C.7.4.1), so no registration. */
export function sameFrameOfReference(a: DicomJson[], b: DicomJson[]): boolean {
  const fa = text(a[0], Tag.FrameOfReferenceUID);
  return fa !== "" && fa === text(b[0], Tag.FrameOfReferenceUID);
}

/** "Hot iron" (as in PET workstations): black → red → orange → yellow → white, as VTK RGB points
 * (x, r, g, b); Cornerstone maps x 0..1 onto the PET's window. */
export const HOT_IRON = {
  ColorSpace: "RGB",
  Name: "Hot Iron",
  RGBPoints: [0, 0, 0, 0, 0.25, 0.5, 0, 0, 0.5, 1, 0.25, 0, 0.75, 1, 0.75, 0, 1, 1, 1, 1],
};

/** The default PET window in SUV (0..5, body FDG) or, without SUV, in Bq/ml (0..20,000). */
export function petWindow(suv: boolean): { lower: number; upper: number } {
  return suv ? { lower: 0, upper: 5 } : { lower: 0, upper: 20000 };
}
