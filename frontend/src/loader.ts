/** Reading the archive over DICOMweb: the series of a study (QIDO-RS), a series' metadata in
 * one WADO-RS request, and its frames streamed around the slice being read. */
import { Enums, eventTarget, imageLoader, imageLoadPoolManager } from "@cornerstonejs/core";
import { wadors } from "@cornerstonejs/dicom-image-loader";
import { type DicomJson, Tag, number, text } from "./dicomjson";
import type { SeriesSummary } from "./hangingProtocol";
import { frameImageId } from "./imageIds";
import { orderInstances } from "./stackOrder";

const JSON_ACCEPT = { Accept: "application/dicom+json" };

async function getJson(url: string): Promise<DicomJson[]> {
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

/** A series ready to show: its instances in reading order and one image id per frame. */
export class LoadedSeries {
  readonly imageIds: string[] = [];
  /** The instance (DICOM JSON) each image id shows. */
  readonly instanceOf = new Map<string, DicomJson>();
  readonly loaded = new Set<string>();
  private readonly listeners = new Set<() => void>();

  constructor(
    readonly summary: SeriesSummary,
    instances: DicomJson[],
    root: string,
  ) {
    for (const instance of orderInstances(instances)) {
      const frames = number(instance, Tag.NumberOfFrames) ?? 1;
      const sop = text(instance, Tag.SOPInstanceUID);
      for (let frame = 1; frame <= frames; frame += 1) {
        const imageId = frameImageId(root, {
          studyInstanceUID: summary.studyInstanceUID,
          seriesInstanceUID: summary.seriesInstanceUID,
          sopInstanceUID: sop,
          frame,
        });
        // The loader reads geometry, pixel module and VOI from this (frame 1 carries a
        // multi-frame instance's metadata for all its frames).
        if (frame === 1) wadors.metaDataManager.add(imageId, instance as never);
        this.imageIds.push(imageId);
        this.instanceOf.set(imageId, instance);
      }
    }
  }

  get first(): DicomJson | undefined {
    return this.instanceOf.get(this.imageIds[0]);
  }

  onProgress(listener: () => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  markLoaded(imageId: string): void {
    if (this.instanceOf.has(imageId) && !this.loaded.has(imageId)) {
      this.loaded.add(imageId);
      for (const listener of this.listeners) listener();
    }
  }

  private center = 0;
  private readonly requesting = new Set<string>();
  private readonly failed = new Set<string>(); // not asked for again by prefetch

  /** Keep loading the frames not loaded yet, nearest to ``center`` first (the reader scrolls
   * from there; a later call moves the centre). A few requests per series are in flight at a
   * time, so the browser's queue stays short and a slice the viewport asks for itself (an
   * interaction request) is served next rather than behind the whole stack. */
  prefetch(center: number): void {
    this.center = center;
    this.pump();
  }

  private nearestWaiting(): string | undefined {
    const ids = this.imageIds;
    for (let distance = 0; distance < ids.length; distance += 1) {
      for (const index of [this.center + distance, this.center - distance]) {
        const id = ids[index];
        if (id !== undefined && !this.loaded.has(id) && !this.requesting.has(id) && !this.failed.has(id)) return id;
      }
    }
    return undefined;
  }

  private pump(): void {
    while (this.requesting.size < PREFETCH_PER_SERIES) {
      const imageId = this.nearestWaiting();
      if (!imageId) return;
      this.requesting.add(imageId);
      const done = () => {
        this.requesting.delete(imageId);
        this.pump();
      };
      imageLoadPoolManager.addRequest(
        () =>
          imageLoader.loadAndCacheImage(imageId).then(
            () => {
              this.markLoaded(imageId);
              done();
            },
            () => {
              this.failed.add(imageId);
              done();
            },
          ),
        Enums.RequestType.Prefetch,
        { imageId },
      );
    }
  }
}

// Browsers open six connections per host: six requests per series keep them busy.
const PREFETCH_PER_SERIES = 6;

const seriesCache = new Map<string, Promise<LoadedSeries>>();
const allSeries = new Set<LoadedSeries>();

/** The series' metadata in one WADO-RS request (PS3.18 10.4.1.1.2), once per page. */
export function loadSeries(root: string, summary: SeriesSummary): Promise<LoadedSeries> {
  let promise = seriesCache.get(summary.seriesInstanceUID);
  if (!promise) {
    promise = getJson(`${root}/studies/${summary.studyInstanceUID}/series/${summary.seriesInstanceUID}/metadata`).then((instances) => {
      const series = new LoadedSeries(summary, instances, root);
      allSeries.add(series);
      return series;
    });
    promise.catch(() => seriesCache.delete(summary.seriesInstanceUID));
    seriesCache.set(summary.seriesInstanceUID, promise);
  }
  return promise;
}

// Frames loaded by the viewport itself (the one on screen) count too.
eventTarget.addEventListener(Enums.Events.IMAGE_LOADED, ((event: CustomEvent) => {
  const imageId = (event.detail as { image?: { imageId?: string } })?.image?.imageId;
  if (imageId) for (const series of allSeries) series.markLoaded(imageId);
}) as EventListener);
