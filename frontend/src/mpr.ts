/** MPR: axial, coronal and sagittal ORTHOGRAPHIC views of one series' volume (streamed from the
 * same WADO-RS frames as the stack), crosshairs with reference lines linking them, one window
 * for all three, a thick slab (mean or maximum intensity projection), and the measurement
 * tools (saved on the series' nearest acquired image: measurements.ts). */
import { Enums, type RenderingEngine, cache, eventTarget, setVolumesForViewports, volumeLoader } from "@cornerstonejs/core";
import {
  CrosshairsTool,
  Enums as ToolEnums,
  PanTool,
  StackScrollTool,
  SynchronizerManager,
  ToolGroupManager,
  WindowLevelTool,
  ZoomTool,
  addTool,
  synchronizers,
  type Types as ToolTypes,
} from "@cornerstonejs/tools";
import type { LoadedSeries } from "./loader";
import { type Vec3, nearestSlice } from "./stackOrder";
import { addAnnotationTools, followPrimaryTool } from "./tools";
import { VolumeCell, trackVolumeLoad, volumeIdOf } from "./volumeCell";
import type { VoiRange, VolumeLayer } from "./windowing";

const { MouseBindings } = ToolEnums;
export const MPR_TOOL_GROUP_ID = "lumen-mpr";
const VOI_SYNC_ID = "lumen-mpr-voi";

const VIEWS = [
  { id: "mpr-axial", orientation: Enums.OrientationAxis.AXIAL, title: "Axial", color: "rgb(255, 80, 80)" },
  { id: "mpr-coronal", orientation: Enums.OrientationAxis.CORONAL, title: "Coronal", color: "rgb(80, 220, 80)" },
  { id: "mpr-sagittal", orientation: Enums.OrientationAxis.SAGITTAL, title: "Sagittal", color: "rgb(255, 220, 60)" },
];

let toolsAdded = false;

function toolGroup(): ToolTypes.IToolGroup {
  const existing = ToolGroupManager.getToolGroup(MPR_TOOL_GROUP_ID);
  if (existing) return existing;
  if (!toolsAdded) {
    addTool(CrosshairsTool); // the others are added by tools.ts
    toolsAdded = true;
  }
  const colors = Object.fromEntries(VIEWS.map((v) => [v.id, v.color]));
  const group = ToolGroupManager.createToolGroup(MPR_TOOL_GROUP_ID)!;
  group.addTool(CrosshairsTool.toolName, {
    getReferenceLineColor: (viewportId: string) => colors[viewportId] ?? "rgb(200, 200, 200)",
    getReferenceLineControllable: () => true,
    getReferenceLineDraggableRotatable: () => true,
    getReferenceLineSlabThicknessControlsOn: () => true,
  });
  group.addTool(WindowLevelTool.toolName);
  group.addTool(PanTool.toolName);
  group.addTool(ZoomTool.toolName);
  group.addTool(StackScrollTool.toolName);
  group.setToolActive(CrosshairsTool.toolName, { bindings: [{ mouseButton: MouseBindings.Primary }] });
  group.setToolActive(WindowLevelTool.toolName, { bindings: [{ mouseButton: MouseBindings.Primary, modifierKey: ToolEnums.KeyboardBindings.Shift }] });
  group.setToolActive(PanTool.toolName, { bindings: [{ mouseButton: MouseBindings.Auxiliary }] });
  group.setToolActive(ZoomTool.toolName, { bindings: [{ mouseButton: MouseBindings.Secondary }] });
  group.setToolActive(StackScrollTool.toolName, { bindings: [{ mouseButton: MouseBindings.Wheel }] });
  // Measurements on the three views too; the toolbar's window tool is the crosshairs here.
  addAnnotationTools(group);
  followPrimaryTool(group, (name) => (name === WindowLevelTool.toolName ? CrosshairsTool.toolName : name), CrosshairsTool.toolName);
  return group;
}

export interface Slab {
  thickness: number; // mm; 0 = the thinnest slice
  mode: "mip" | "average";
}

export class MprView {
  readonly cells: VolumeCell[] = [];
  private volumeId?: string;
  private onLoaded?: EventListener;
  private imageWindow?: VoiRange;
  series?: LoadedSeries;
  slabThickness = 0;

  constructor(
    private readonly engine: RenderingEngine,
    private readonly host: HTMLElement,
  ) {}

  get viewportIds(): string[] {
    return this.cells.map((c) => c.viewportId);
  }

  /** Open the three views of ``series`` with ``voi`` (the window the stack was read with). */
  async open(series: LoadedSeries, voi?: { lower: number; upper: number }, onProgress?: (loaded: number, total: number) => void): Promise<void> {
    this.close();
    const volumeId = volumeIdOf(series.summary.seriesInstanceUID);
    this.volumeId = volumeId;
    this.series = series;
    this.slabThickness = 0;
    for (const view of VIEWS) this.cells.push(new VolumeCell(view.id, this.engine, this.host, view.orientation, `${view.title} · ${series.summary.modality} ${series.summary.description}`));
    this.engine.resize(true, true);
    const group = toolGroup();
    for (const id of this.viewportIds) group.addViewport(id, this.engine.id);
    const volume = (cache.getVolume(volumeId) as { load?: () => void } | undefined) ?? (await volumeLoader.createAndCacheVolume(volumeId, { imageIds: series.imageIds }));
    this.onLoaded = ((event: CustomEvent) => {
      const detail = event.detail as { volumeId?: string; framesLoaded?: number; framesProcessed?: number; totalNumFrames?: number; numFrames?: number };
      if (detail.volumeId !== volumeId) return;
      const total = detail.totalNumFrames ?? detail.numFrames ?? series.imageIds.length;
      onProgress?.(detail.framesProcessed ?? detail.framesLoaded ?? 0, total);
    }) as EventListener;
    eventTarget.addEventListener(Enums.Events.IMAGE_VOLUME_MODIFIED, this.onLoaded);
    trackVolumeLoad(this.host, [volumeId]);
    (volume as { load?: () => void }).load?.();
    await setVolumesForViewports(this.engine, [{ volumeId }], this.viewportIds);
    this.imageWindow = this.cells[0]?.viewport.getProperties(volumeId)?.voiRange; // from the images' VOI LUT
    const voiSync = SynchronizerManager.getSynchronizer(VOI_SYNC_ID) ?? synchronizers.createVOISynchronizer(VOI_SYNC_ID, { syncInvertState: true, syncColormap: false });
    for (const id of this.viewportIds) voiSync.add({ renderingEngineId: this.engine.id, viewportId: id });
    for (const cell of this.cells) {
      if (voi) cell.viewport.setProperties({ voiRange: voi });
      cell.viewport.render();
    }
  }

  /** Slab thickness (mm) and projection for all three views; 0 mm is a plain slice. */
  setSlab(slab: Slab): void {
    this.slabThickness = slab.thickness;
    const blend = slab.thickness > 0 ? (slab.mode === "mip" ? Enums.BlendModes.MAXIMUM_INTENSITY_BLEND : Enums.BlendModes.AVERAGE_INTENSITY_BLEND) : Enums.BlendModes.COMPOSITE;
    for (const cell of this.cells) {
      cell.viewport.setBlendMode(blend);
      cell.viewport.setSlabThickness(Math.max(slab.thickness, 0.1));
      cell.viewport.render();
    }
  }

  close(): void {
    if (this.onLoaded) eventTarget.removeEventListener(Enums.Events.IMAGE_VOLUME_MODIFIED, this.onLoaded);
    this.onLoaded = undefined;
    const group = ToolGroupManager.getToolGroup(MPR_TOOL_GROUP_ID);
    const voiSync = SynchronizerManager.getSynchronizer(VOI_SYNC_ID);
    for (const cell of this.cells) {
      voiSync?.remove({ renderingEngineId: this.engine.id, viewportId: cell.viewportId });
      group?.removeViewports(this.engine.id, cell.viewportId);
      cell.destroy();
    }
    this.cells.length = 0;
    delete this.host.dataset.volume;
    this.volumeId = undefined;
    this.series = undefined;
    this.imageWindow = undefined;
  }

  /** The volume in each of the three views (the window controls set them together). */
  layers(): VolumeLayer[] {
    const volumeId = this.volumeId;
    const modality = this.series?.summary.modality ?? "";
    return volumeId ? this.cells.map((c) => ({ viewportId: c.viewportId, volumeId, modality, imageWindow: this.imageWindow })) : [];
  }

  /** Where a measurement drawn at ``point`` on a reformatted view is kept (measurements.ts): the
   * open series' acquired image nearest to it, when it is in the series' Frame of Reference. */
  anchorImageId(frameOfReferenceUID: string | undefined, point: Vec3 | undefined): string | undefined {
    const series = this.series;
    if (!series || !frameOfReferenceUID || !point) return undefined;
    const instances = series.imageIds.map((id) => series.instanceOf.get(id)!);
    const nearest = nearestSlice(instances, point, frameOfReferenceUID);
    return nearest === undefined ? undefined : series.imageIds[nearest];
  }

  get isOpen(): boolean {
    return this.volumeId !== undefined;
  }
}
