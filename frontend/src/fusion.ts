/** PET/CT fusion: the CT with the PET over it in a hot-iron colour map (opacity from a slider),
 * beside the PET alone, both following one camera. PET pixels are SUV body weight when the tags
 * allow it (suv.ts), so probes and ROI statistics on the PET read SUV. */
import { Enums, type RenderingEngine, type Types, cache, metaData, setVolumesForViewports, utilities, volumeLoader } from "@cornerstonejs/core";
import { SynchronizerManager, ToolGroupManager, synchronizers } from "@cornerstonejs/tools";
import type { DicomJson } from "./dicomjson";
import type { LoadedSeries } from "./loader";
import { suvFactors } from "./suv";
import { VolumeCell, trackVolumeLoad, volumeIdOf } from "./volumeCell";
import { HOT_IRON, petWindow } from "./volumeRules";
import { presetByName } from "./presets";
import { type VoiRange, type VolumeLayer, toRange } from "./windowing";

const SLICE_SYNC_ID = "lumen-fusion-slice";
const suvByImageId = new Map<string, number>();
let providerAdded = false;

/** Register the SUVbw factor of each image of a PET series (before its pixels load): the image
 * loader then scales them (Cornerstone's "scalingModule"). True when the series reads in SUV. */
export function registerSuv(series: LoadedSeries): boolean {
  if (series.summary.modality !== "PT") return false;
  if (series.imageIds.every((id) => suvByImageId.has(id))) return true;
  const instances = series.imageIds.map((id) => series.instanceOf.get(id) as DicomJson);
  const factors = suvFactors(instances);
  if (!factors) return false;
  if (!providerAdded) {
    metaData.addProvider((type: string, imageId: string) => {
      if (type !== "scalingModule") return undefined;
      const suvbw = suvByImageId.get(imageId);
      return suvbw === undefined ? undefined : { suvbw };
    }, 10000);
    providerAdded = true;
  }
  series.imageIds.forEach((id, i) => suvByImageId.set(id, factors[i]));
  return true;
}

export function readsSuv(series: LoadedSeries): boolean {
  return series.imageIds.length > 0 && series.imageIds.every((id) => suvByImageId.has(id));
}

let colormapRegistered = false;

/** The PET over the CT in hot iron with the slider's opacity. */
export function overlayColormap(opacity: number): { name: string; opacity: number } {
  return { name: HOT_IRON.Name, opacity };
}

export class FusionView {
  readonly cells: VolumeCell[] = [];
  private ptVolumeId?: string;
  private ctVolumeId?: string;
  private ctImageWindow?: VoiRange;
  ct?: LoadedSeries;
  pt?: LoadedSeries;
  opacity = 0.5;

  constructor(
    private readonly engine: RenderingEngine,
    private readonly host: HTMLElement,
    private readonly toolGroupId: string, // the stack tool group: measurements and probe on the PET
  ) {}

  get fused(): VolumeCell | undefined {
    return this.cells[0];
  }

  async open(ct: LoadedSeries, pt: LoadedSeries): Promise<void> {
    this.close();
    if (!colormapRegistered) {
      utilities.colormap.registerColormap(HOT_IRON);
      colormapRegistered = true;
    }
    const suv = registerSuv(pt);
    const ctId = volumeIdOf(ct.summary.seriesInstanceUID);
    const ptId = volumeIdOf(pt.summary.seriesInstanceUID);
    this.ptVolumeId = ptId;
    this.ctVolumeId = ctId;
    this.ct = ct;
    this.pt = pt;
    const fused = new VolumeCell("fusion", this.engine, this.host, Enums.OrientationAxis.AXIAL, `Fused · CT + PET (${suv ? "SUVbw" : "Bq/ml"})`);
    const petOnly = new VolumeCell("fusion-pt", this.engine, this.host, Enums.OrientationAxis.AXIAL, `PET · ${suv ? "SUVbw" : "Bq/ml"}`);
    this.cells.push(fused, petOnly);
    this.host.dataset.suv = String(suv);
    this.engine.resize(true, true);
    const [ctVolume, ptVolume] = await Promise.all(
      [ct, pt].map(async (s) => cache.getVolume(volumeIdOf(s.summary.seriesInstanceUID)) ?? (await volumeLoader.createAndCacheVolume(volumeIdOf(s.summary.seriesInstanceUID), { imageIds: s.imageIds }))),
    );
    trackVolumeLoad(this.host, [ctId, ptId]);
    for (const volume of [ctVolume, ptVolume]) (volume as { load?: () => void }).load?.();
    const group = ToolGroupManager.getToolGroup(this.toolGroupId);
    for (const cell of this.cells) group?.addViewport(cell.viewportId, this.engine.id);
    const window = petWindow(suv);
    await setVolumesForViewports(this.engine, [{ volumeId: ctId }, { volumeId: ptId }], [fused.viewportId]);
    this.ctImageWindow = fused.viewport.getProperties(ctId)?.voiRange; // from the CT's VOI LUT
    fused.viewport.setProperties({ voiRange: toRange(presetByName("Soft tissue")!) }, ctId);
    fused.viewport.setProperties({ voiRange: window, colormap: overlayColormap(this.opacity) }, ptId);
    await setVolumesForViewports(this.engine, [{ volumeId: ptId }], [petOnly.viewportId]);
    petOnly.viewport.setProperties({ voiRange: window, invert: true }, ptId);
    // Both views on the same slice (the PET keeps its own field of view and zoom).
    const sliceSync = SynchronizerManager.getSynchronizer(SLICE_SYNC_ID) ?? synchronizers.createImageSliceSynchronizer(SLICE_SYNC_ID);
    for (const cell of this.cells) sliceSync.add({ renderingEngineId: this.engine.id, viewportId: cell.viewportId });
    // A slice is ray cast as a slab with opacity corrected per unit distance (1 mm): in the
    // default 0.05 mm slab an opacity of 0.5 comes out as a few per cent. A 0.5 mm slab makes the
    // slider's opacity about the opacity on screen (the CT, opaque, is unchanged by it).
    fused.viewport.setSlabThickness(0.5);
    fused.viewport.render();
    // The PET view starts on the fused view's slice (the CT's middle): its camera moved along the normal.
    const target = fused.viewport.getCamera();
    const camera = petOnly.viewport.getCamera();
    if (target.focalPoint && camera.focalPoint && camera.position && camera.viewPlaneNormal) {
      const n = camera.viewPlaneNormal;
      const d = (target.focalPoint[0] - camera.focalPoint[0]) * n[0] + (target.focalPoint[1] - camera.focalPoint[1]) * n[1] + (target.focalPoint[2] - camera.focalPoint[2]) * n[2];
      const shift = (p: Types.Point3): Types.Point3 => [p[0] + d * n[0], p[1] + d * n[1], p[2] + d * n[2]];
      petOnly.viewport.setCamera({ focalPoint: shift(camera.focalPoint), position: shift(camera.position) });
    }
    petOnly.viewport.render();
  }

  /** The PET's opacity over the CT, 0 (CT only) … 1 (PET only). */
  setOpacity(opacity: number): void {
    this.opacity = Math.max(0, Math.min(1, opacity));
    const fused = this.fused;
    if (!fused || !this.ptVolumeId) return;
    fused.viewport.setProperties({ colormap: overlayColormap(this.opacity) }, this.ptVolumeId);
    fused.viewport.render();
  }

  close(): void {
    const group = ToolGroupManager.getToolGroup(this.toolGroupId);
    const sliceSync = SynchronizerManager.getSynchronizer(SLICE_SYNC_ID);
    for (const cell of this.cells) {
      sliceSync?.remove({ renderingEngineId: this.engine.id, viewportId: cell.viewportId });
      group?.removeViewports(this.engine.id, cell.viewportId);
      cell.destroy();
    }
    this.cells.length = 0;
    this.ptVolumeId = undefined;
    this.ctVolumeId = undefined;
    this.ct = this.pt = undefined;
    this.ctImageWindow = undefined;
  }

  /** The CT and the PET in the fused view, the PET in its own (only the CT takes the toolbar's window). */
  layers(): VolumeLayer[] {
    const [fused, petOnly] = this.cells;
    if (!fused || !petOnly || !this.ctVolumeId || !this.ptVolumeId) return [];
    return [
      { viewportId: fused.viewportId, volumeId: this.ctVolumeId, modality: "CT", imageWindow: this.ctImageWindow },
      { viewportId: fused.viewportId, volumeId: this.ptVolumeId, modality: "PT" },
      { viewportId: petOnly.viewportId, volumeId: this.ptVolumeId, modality: "PT" },
    ];
  }

  get isOpen(): boolean {
    return this.ptVolumeId !== undefined;
  }
}
