/** Studies side by side: scrolling synchronized by patient position (sync.ts decides which image)
 * and one window for viewports of the same modality, both as Cornerstone synchronizers. */
import { Enums, type RenderingEngine, type StackViewport, type Types } from "@cornerstonejs/core";
import { SynchronizerManager, synchronizers } from "@cornerstonejs/tools";
import type { LoadedSeries } from "./loader";
import { type SeriesPositions, linkOffset, seriesPositions, syncedIndex } from "./sync";

const POSITION_SYNC_ID = "lumen-position";
const VOI_SYNC_ID = "lumen-compare-voi";

const positionsCache = new WeakMap<LoadedSeries, SeriesPositions | null>();

export function positionsOf(series: LoadedSeries): SeriesPositions | undefined {
  if (!positionsCache.has(series)) {
    // Multi-frame images keep their planes per frame: not synchronized by position (index 1:1 would lie).
    const single = new Set(series.instanceOf.values()).size === series.imageIds.length;
    const instances = series.imageIds.map((id) => series.instanceOf.get(id)!);
    positionsCache.set(series, single ? (seriesPositions(instances) ?? null) : null);
  }
  return positionsCache.get(series) ?? undefined;
}

export interface SyncedViewport {
  viewportId: string;
  series: LoadedSeries;
}

export class StackSync {
  private enabled = false;
  private readonly offsets = new Map<string, number>();

  constructor(
    private readonly engine: RenderingEngine,
    private readonly viewports: () => SyncedViewport[],
  ) {}

  get on(): boolean {
    return this.enabled;
  }

  private viewportOf(id: string): StackViewport | undefined {
    return this.engine.getViewport(id) as StackViewport | undefined;
  }

  private key(a: SyncedViewport, b: SyncedViewport): string {
    return `${a.viewportId}|${a.series.summary.seriesInstanceUID}|${b.viewportId}|${b.series.summary.seriesInstanceUID}`;
  }

  /** Link the viewports where they stand now (the table offset between studies is kept). */
  link(): void {
    this.offsets.clear();
    const shown = this.viewports();
    for (const a of shown) {
      for (const b of shown) {
        const pa = positionsOf(a.series);
        const pb = positionsOf(b.series);
        if (a === b || !pa || !pb) continue;
        const ia = this.viewportOf(a.viewportId)?.getCurrentImageIdIndex() ?? 0;
        const ib = this.viewportOf(b.viewportId)?.getCurrentImageIdIndex() ?? 0;
        this.offsets.set(this.key(a, b), linkOffset(pa, ia, pb, ib));
      }
    }
  }

  private readonly onNewImage = async (_sync: unknown, source: Types.IViewportId, target: Types.IViewportId): Promise<void> => {
    const shown = this.viewports();
    const a = shown.find((v) => v.viewportId === source.viewportId);
    const b = shown.find((v) => v.viewportId === target.viewportId);
    const pa = a && positionsOf(a.series);
    const pb = b && positionsOf(b.series);
    const sourceViewport = this.viewportOf(source.viewportId);
    const targetViewport = this.viewportOf(target.viewportId);
    if (!a || !b || !pa || !pb || !sourceViewport || !targetViewport) return;
    const offset = this.offsets.get(this.key(a, b)) ?? linkOffset(pa, 0, pb, 0);
    const index = syncedIndex(pa, sourceViewport.getCurrentImageIdIndex(), pb, offset);
    if (index !== undefined && index !== targetViewport.getCurrentImageIdIndex()) await targetViewport.setImageIdIndex(index);
  };

  /** Switch synchronization on for every viewport showing a series (window: same modality only). */
  enable(): void {
    this.disable();
    const position =
      SynchronizerManager.getSynchronizer(POSITION_SYNC_ID) ?? SynchronizerManager.createSynchronizer(POSITION_SYNC_ID, Enums.Events.STACK_NEW_IMAGE, this.onNewImage as never);
    const voi = SynchronizerManager.getSynchronizer(VOI_SYNC_ID) ?? synchronizers.createVOISynchronizer(VOI_SYNC_ID, { syncInvertState: false, syncColormap: false });
    const shown = this.viewports();
    const modality = shown[0]?.series.summary.modality;
    for (const v of shown) {
      const id = { renderingEngineId: this.engine.id, viewportId: v.viewportId };
      if (positionsOf(v.series)) position.add(id);
      if (v.series.summary.modality === modality) voi.add(id);
    }
    this.link();
    this.enabled = true;
  }

  disable(): void {
    for (const id of [POSITION_SYNC_ID, VOI_SYNC_ID]) if (SynchronizerManager.getSynchronizer(id)) SynchronizerManager.destroySynchronizer(id);
    this.enabled = false;
  }

  /** After a series changed in a viewport: take it in, linked where it stands. */
  refresh(): void {
    if (this.enabled) this.enable();
  }
}
