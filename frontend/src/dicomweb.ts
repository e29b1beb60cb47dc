/** The DICOMweb answers a study opens with: its series (QIDO-RS) and a series' metadata (WADO-RS,
 * once per page). No Cornerstone here: the page's entry (main.ts) asks for them while the
 * viewer's code is still loading. */
import { type DicomJson, Tag, number, text } from "./dicomjson";
import type { SeriesSummary } from "./hangingProtocol";

const JSON_ACCEPT = { Accept: "application/dicom+json" };

export async function getJson(url: string): Promise<DicomJson[]> {
  const response = await fetch(url, { headers: JSON_ACCEPT, credentials: "same-origin" });
  if (!response.ok) throw new Error(`${url}: ${response.status}`);
  return (await response.json()) as DicomJson[];
}

export async function searchSeries(root: string, studyInstanceUID: string): Promise<SeriesSummary[]> {
  const rows = await getJson(`${root}/studies/${studyInstanceUID}/series?includefield=BodyPartExamined`);
  return rows.map((row) => ({
    studyInstanceUID,
    seriesInstanceUID: text(row, Tag.SeriesInstanceUID),
    modality: text(row, Tag.Modality),
    seriesNumber: number(row, Tag.SeriesNumber),
    description: text(row, Tag.SeriesDescription),
    bodyPart: text(row, Tag.BodyPartExamined),
    instanceCount: number(row, Tag.NumberOfSeriesRelatedInstances) ?? 0,
  }));
}

const metadataCache = new Map<string, Promise<DicomJson[]>>();

/** The series' metadata in one WADO-RS request (PS3.18 10.4.1.1.2), asked for once per page
 * (a failed request is asked for again next time). */
export function seriesMetadata(root: string, summary: SeriesSummary): Promise<DicomJson[]> {
  let promise = metadataCache.get(summary.seriesInstanceUID);
  if (!promise) {
    promise = getJson(`${root}/studies/${summary.studyInstanceUID}/series/${summary.seriesInstanceUID}/metadata`);
    promise.catch(() => metadataCache.delete(summary.seriesInstanceUID));
    metadataCache.set(summary.seriesInstanceUID, promise);
  }
  return promise;
}
