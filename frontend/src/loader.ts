/** A series in the viewer: its frames' image ids in reading order, streamed around the slice
 * being read (the DICOMweb requests themselves are in dicomweb.ts). */
import { Enums, eventTarget, imageLoader, imageLoadPoolManager } from "@cornerstonejs/core";
import { wadors } from "@cornerstonejs/dicom-image-loader/imageLoader";
import { type DicomJson, Tag, number, text } from "./dicomjson";
import { seriesMetadata } from "./dicomweb";
import type { SeriesSummary } from "./hangingProtocol";
import { frameImageId } from "./imageIds";
import { orderInstances } from "./stackOrder";

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

  /** ``listener`` hears of loaded frames a few times a second, and at once when all are. */
  onProgress(listener: () => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  private progressTimer?: ReturnType<typeof setTimeout>;

  markLoaded(imageId: string): void {
    if (!this.instanceOf.has(imageId) || this.loaded.has(imageId)) return;
    this.loaded.add(imageId);
    if (this.loaded.size === this.imageIds.length) this.notifyProgress();
    else this.progressTimer ??= setTimeout(() => this.notifyProgress(), PROGRESS_INTERVAL_MS);
  }

  private notifyProgress(): void {
    clearTimeout(this.progressTimer);
    this.progressTimer = undefined;
    for (const listener of this.listeners) listener();
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
// Progress bars and counters redrawn once per loaded frame cost a style, layout, paint and
// compositor frame each (~4 ms of the renderer and as much of the display compositor per frame
// under software rendering, on the cores that decode the frames): a few times a second is enough.
const PROGRESS_INTERVAL_MS = 200;

const seriesCache = new Map<string, Promise<LoadedSeries>>();
const allSeries = new Set<LoadedSeries>();

/** The series from its metadata, once per page. */
export function loadSeries(root: string, summary: SeriesSummary): Promise<LoadedSeries> {
  let promise = seriesCache.get(summary.seriesInstanceUID);
  if (!promise) {
    promise = seriesMetadata(root, summary).then((instances) => {
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
