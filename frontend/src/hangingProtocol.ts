/** The hanging protocol: which layout and which series in which viewport when a study opens.
 * A pure function of the series list, so it is tested without a browser. */
import { presetForSeries, type WindowPreset } from "./presets";

export interface SeriesSummary {
  studyInstanceUID: string;
  seriesInstanceUID: string;
  modality: string;
  seriesNumber?: number;
  description: string;
  bodyPart: string;
  instanceCount: number;
}

export interface Layout {
  rows: number;
  columns: number;
}

export interface ViewportAssignment {
  seriesInstanceUID: string;
  preset?: WindowPreset;
}

export interface Hanging {
  layout: Layout;
  viewports: ViewportAssignment[];
  protocol: string;
}

export const LAYOUTS: Record<string, Layout> = {
  "1x1": { rows: 1, columns: 1 },
  "1x2": { rows: 1, columns: 2 },
  "2x1": { rows: 2, columns: 1 },
  "2x2": { rows: 2, columns: 2 },
};

export function layoutName(layout: Layout): string {
  return `${layout.rows}x${layout.columns}`;
}

// Modalities that are not image stacks a reader scrolls (reports, segmentations, structure
// sets, presentation states, raw data): never hung by default.
const NOT_VIEWABLE = new Set(["SR", "SEG", "RTSTRUCT", "RTPLAN", "RTDOSE", "PR", "KO", "REG", "DOC", "RAW", "OT_PDF"]);

export function isViewable(series: SeriesSummary): boolean {
  return !NOT_VIEWABLE.has(series.modality) && series.instanceCount > 0;
}

function bySeriesNumber(a: SeriesSummary, b: SeriesSummary): number {
  return (a.seriesNumber ?? Number.MAX_SAFE_INTEGER) - (b.seriesNumber ?? Number.MAX_SAFE_INTEGER);
}

/** The largest series: the one a reader opens first (thin-slice reconstruction over scouts). */
function largest(series: SeriesSummary[]): SeriesSummary {
  return [...series].sort((a, b) => b.instanceCount - a.instanceCount || bySeriesNumber(a, b))[0];
}

function assign(series: SeriesSummary): ViewportAssignment {
  const preset = presetForSeries(series.modality, series.bodyPart, series.description);
  return preset ? { seriesInstanceUID: series.seriesInstanceUID, preset } : { seriesInstanceUID: series.seriesInstanceUID };
}

function layoutFor(count: number): Layout {
  if (count <= 1) return LAYOUTS["1x1"];
  if (count === 2) return LAYOUTS["1x2"];
  return LAYOUTS["2x2"];
}

/**
 * - PET/CT (a PT and a CT series in one study): the CT and the PET side by side, the largest
 *   of each; the page then opens them fused over these stacks (readingModes.ts).
 * - MR: up to four series side by side, in series-number order, localizers (fewer than 5
 *   images) left out when there are enough others.
 * - CT (and anything else): the largest series in one viewport, with the CT preset of its
 *   body part.
 */
export function hang(allSeries: SeriesSummary[]): Hanging {
  const series = allSeries.filter(isViewable);
  if (series.length === 0) return { layout: LAYOUTS["1x1"], viewports: [], protocol: "empty" };

  const pet = series.filter((s) => s.modality === "PT");
  const ct = series.filter((s) => s.modality === "CT");
  if (pet.length > 0 && ct.length > 0) {
    return { layout: LAYOUTS["1x2"], viewports: [assign(largest(ct)), assign(largest(pet))], protocol: "pet-ct" };
  }

  const mr = series.filter((s) => s.modality === "MR");
  if (mr.length > 0 && mr.length >= series.length / 2) {
    const sorted = [...mr].sort(bySeriesNumber);
    const nonLocalizers = sorted.filter((s) => s.instanceCount >= 5 && !/LOCALI[SZ]ER|SCOUT|SURVEY/i.test(s.description));
    const chosen = (nonLocalizers.length > 0 ? nonLocalizers : sorted).slice(0, 4);
    return { layout: layoutFor(chosen.length), viewports: chosen.map(assign), protocol: "mr" };
  }

  const main = largest(ct.length > 0 ? ct : series);
  return { layout: LAYOUTS["1x1"], viewports: [assign(main)], protocol: main.modality === "CT" ? "ct" : "single" };
}

/** Several studies of one patient side by side: the main series of each, one viewport per study. */
export function hangComparison(studies: SeriesSummary[][]): Hanging {
  const viewports = studies
    .map((series) => hang(series).viewports[0])
    .filter((v): v is ViewportAssignment => v !== undefined)
    .slice(0, 4);
  return { layout: layoutFor(viewports.length), viewports, protocol: "compare" };
}

/** What a viewer page hangs: one study by its protocol, several side by side. */
export function hangStudies(perStudy: SeriesSummary[][]): Hanging {
  return perStudy.length > 1 ? hangComparison(perStudy) : hang(perStudy[0]);
}
