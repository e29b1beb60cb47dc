/** What the viewer adds to stack reading (docs/viewer.md, phase 2): MPR with a thick slab,
 * PET/CT fusion, studies compared side by side with synchronized scrolling and window,
 * segmentation overlays and export. It works on the page's Viewer through a few hooks. */
import { Enums, type RenderingEngine, type StackViewport, type VolumeViewport, utilities as csUtilities } from "@cornerstonejs/core";
import { StackSync } from "./compare";
import type { ViewerConfig } from "./config";
import { type DicomJson, Tag, text } from "./dicomjson";
import { exportName, exportPng, overlayLayers, recordCine, viewportCanvas, webmType } from "./export";
import { FusionView } from "./fusion";
import type { Hanging, SeriesSummary } from "./hangingProtocol";
import { type LoadedSeries, loadSeries } from "./loader";
import type { CornerstoneAnnotation } from "./measurements";
import { MprView } from "./mpr";
import { seriesMetadata } from "./dicomweb";
// SEG and RTSTRUCT overlays (with @cornerstonejs/adapters and dcmjs, over a megabyte) load when one is shown.
import type { ContourOverlay, SegmentInfo, StructureSet } from "./segmentation";
import { compareUrl, patientStudies, renderPicker } from "./studyPicker";
import type { Vec3 } from "./stackOrder";
import type { ViewportSlot } from "./viewportSlot";
import type { VolumeCell } from "./volumeCell";
import { fusionPair, sameFrameOfReference, volumeCheck } from "./volumeRules";
import { type VolumeLayer, type WindowTarget, shownLayer, toRange, toWindow, windowCorner, windowedLayers } from "./windowing";

export interface ViewerHooks {
  root: string;
  engine: RenderingEngine;
  config: ViewerConfig;
  toolGroupId: string;
  slots(): ViewportSlot[];
  active(): ViewportSlot | undefined;
  series(uid: string): SeriesSummary | undefined;
  showSeries(slot: ViewportSlot, summary: SeriesSummary): Promise<void>;
  status(message: string, error?: boolean): void;
  /** The window, slice or view on screen changed: the toolbar follows. */
  viewChanged(): void;
  /** MPR is about to open: measurements saved on reformatted views may be shown now. */
  volumeViewsOpening(): void;
}

/** The acquired image a volume view shows (tags, key images), or why it shows none. */
export type ShownImage = { imageId: string; instance: DicomJson } | { reason: string };

// Stack reading's controls: they act on the stack viewports, hidden under MPR and fusion, so
// they are off there. The mouse tools work in MPR too (tools.ts: its crosshairs stand for the
// window tool, Shift-drag windows).
const STACK_CONTROLS = "[data-layout], [data-action], #cine-play, #cine-fps, #stack-slider, #first-image, #prev-image, #next-image, #last-image";
const STACK_KEYS = new Set(["Home", "End", " ", "Escape", "i", "f"]);

type Mode = "stack" | "mpr" | "fusion";

function $(id: string): HTMLElement {
  const node = document.getElementById(id);
  if (!node) throw new Error(`#${id} is missing`);
  return node;
}

function instancesOf(series: LoadedSeries): DicomJson[] {
  return [...new Set(series.imageIds.map((id) => series.instanceOf.get(id)!))];
}

export class ReadingModes {
  private mode: Mode = "stack";
  private readonly volumeGrid = $("volume-grid");
  private readonly stackGrid = $("viewport-grid");
  private readonly mpr: MprView;
  private readonly fusion: FusionView;
  readonly sync: StackSync;
  private activeCell?: HTMLElement;
  private allSeries: SeriesSummary[] = [];
  private readonly contours: Array<{ structureSet: StructureSet; hidden: Set<number>; overlays: ContourOverlay[] }> = [];
  private segmentation?: typeof import("./segmentation");

  constructor(private readonly hooks: ViewerHooks) {
    this.mpr = new MprView(hooks.engine, this.volumeGrid);
    this.fusion = new FusionView(hooks.engine, this.volumeGrid, hooks.toolGroupId);
    this.sync = new StackSync(hooks.engine, () =>
      hooks
        .slots()
        .filter((s) => s.series)
        .map((s) => ({ viewportId: s.viewportId, series: s.series! })),
    );
  }

  bind(): void {
    $("viewer").dataset.mode = this.mode;
    $("mode-mpr").addEventListener("click", () => void (this.mode === "mpr" ? this.leave() : this.enterMpr()));
    $("mode-fusion").addEventListener("click", () => void (this.mode === "fusion" ? this.leave() : this.enterFusion()));
    const slab = $("slab-thickness") as HTMLInputElement;
    const slabMode = $("slab-mode") as HTMLSelectElement;
    const applySlab = () => {
      $("slab-value").textContent = `${slab.value} mm`;
      this.mpr.setSlab({ thickness: Number(slab.value), mode: slabMode.value === "average" ? "average" : "mip" });
    };
    slab.addEventListener("input", applySlab);
    slabMode.addEventListener("change", applySlab);
    ($("fusion-opacity") as HTMLInputElement).addEventListener("input", (e) => this.fusion.setOpacity(Number((e.target as HTMLInputElement).value) / 100));
    $("sync-toggle").addEventListener("click", () => this.setSync(!this.sync.on));
    $("compare-studies").addEventListener("click", () => void this.pickStudies());
    $("export-png").addEventListener("click", () => void this.exportPng());
    $("export-cine").addEventListener("click", () => void this.exportCine());
    if (!webmType()) ($("export-cine") as HTMLButtonElement).disabled = true;
    this.volumeGrid.addEventListener(
      "mousedown",
      (e) => {
        const cell = (e.target as HTMLElement).closest<HTMLElement>(".volume-cell");
        if (!cell) return;
        const changed = this.activeCell !== cell;
        this.activeCell = cell;
        for (const c of this.volumeGrid.querySelectorAll(".volume-cell")) c.classList.toggle("active", c === cell);
        if (changed) this.hooks.viewChanged();
      },
      { capture: true },
    );
    document.addEventListener("keydown", (e) => {
      if ((e.target as HTMLElement).closest("input, select, textarea, dialog") || e.ctrlKey || e.metaKey || e.altKey) return;
      if (e.key === "m") void (this.mode === "mpr" ? this.leave() : this.enterMpr());
    });
    // In MPR and fusion the arrow and page keys scroll the clicked view (not the hidden stack):
    // heard before the page's own stack keys, which then do not see them.
    const steps: Record<string, number> = { ArrowDown: 1, ArrowRight: 1, ArrowUp: -1, ArrowLeft: -1, PageDown: 10, PageUp: -10 };
    window.addEventListener(
      "keydown",
      (e) => {
        if (this.mode === "stack" || (e.target as HTMLElement).closest("input, select, textarea, dialog") || e.ctrlKey || e.metaKey || e.altKey) return;
        if (STACK_KEYS.has(e.key)) {
          e.stopPropagation(); // a stack-only key: not on the hidden stack
          return;
        }
        const delta = steps[e.key];
        if (delta === undefined) return;
        const cell = this.activeCell ?? this.volumeGrid.querySelector<HTMLElement>(".volume-cell");
        const viewport = cell?.dataset.viewportId ? this.hooks.engine.getViewport(cell.dataset.viewportId) : undefined;
        if (!viewport) return;
        e.preventDefault();
        e.stopPropagation();
        csUtilities.scroll(viewport as Parameters<typeof csUtilities.scroll>[0], { delta });
      },
      { capture: true },
    );
  }

  /** After the hanging protocol hung the stacks: PET/CT opens fused, compared studies synchronized. */
  async afterHanging(hanging: Hanging, perStudy: SeriesSummary[][]): Promise<void> {
    this.allSeries = perStudy.flat();
    const pair = perStudy.length === 1 ? fusionPair(perStudy[0]) : undefined;
    $("mode-fusion").hidden = !pair;
    this.renderOverlayPanel();
    if (hanging.protocol === "compare" || perStudy.length > 1) this.setSync(true);
    if (hanging.protocol === "pet-ct" && pair) await this.enterFusion();
  }

  /** A series was put in a stack viewport: synchronization takes it in where it stands. */
  seriesShown(): void {
    this.sync.refresh();
    this.attachContours();
  }

  private get cells(): VolumeCell[] {
    return this.mode === "mpr" ? this.mpr.cells : this.mode === "fusion" ? this.fusion.cells : [];
  }

  /** The volume layers the toolbar's window sets in MPR or fusion (none in stack mode). */
  private windowLayers(): VolumeLayer[] {
    if (this.mode === "mpr") return windowedLayers("mpr", this.mpr.layers());
    if (this.mode === "fusion") return windowedLayers("fusion", this.fusion.layers());
    return [];
  }

  /** What the toolbar's window acts on: undefined in stack mode (then the active stack viewport). */
  windowTarget(): WindowTarget | undefined {
    if (this.mode === "stack") return undefined;
    const engine = this.hooks.engine;
    const viewport = (layer: VolumeLayer) => engine.getViewport(layer.viewportId) as VolumeViewport | undefined;
    const apply = (range: (layer: VolumeLayer) => { lower: number; upper: number } | undefined) => {
      for (const layer of this.windowLayers()) {
        const voiRange = range(layer);
        if (voiRange) viewport(layer)?.setProperties({ voiRange }, layer.volumeId);
      }
      for (const cell of this.cells) cell.viewport.render();
    };
    return {
      getWindow: () => {
        const layer = shownLayer(this.windowLayers(), this.activeCell?.dataset.viewportId);
        const range = layer && viewport(layer)?.getProperties(layer.volumeId)?.voiRange;
        return range ? toWindow(range) : undefined;
      },
      setWindow: (window) => apply(() => toRange(window)),
      resetWindow: () => apply((layer) => layer.imageWindow),
    };
  }

  /** Where a measurement drawn on an MPR view without an acquired image of its own is kept:
   * the MPR series' image nearest to its first point (mpr.ts); undefined outside MPR, and for a
   * measurement on an acquired image (kept on that image). */
  reformatAnchor(annotation: CornerstoneAnnotation): string | undefined {
    if (this.mode !== "mpr" || annotation.metadata.referencedImageId) return undefined;
    const points = (annotation.data.handles as { points?: Vec3[] } | undefined)?.points;
    return this.mpr.anchorImageId(annotation.metadata.FrameOfReferenceUID, points?.[0]);
  }

  /** The image the clicked volume view shows, for the tag browser and key images: undefined in
   * stack mode; a reason when the view is a reformat or a slab (no single acquired image). */
  shownImage(): ShownImage | undefined {
    if (this.mode === "stack") return undefined;
    const cells = this.cells;
    const cell = cells.find((c) => c.root === this.activeCell) ?? cells[0];
    const series = this.mode === "mpr" ? this.mpr.series : cell === cells[0] ? this.fusion.ct : this.fusion.pt;
    if (!cell || !series || !cell.viewport.getActors().length) return { reason: "the volume is still opening" };
    if (this.mode === "mpr" && this.mpr.slabThickness > 0) return { reason: "the view is a slab, not one image (set the slab to 0 mm)" };
    const imageId = cell.viewport.getCurrentImageId();
    const instance = imageId ? series.instanceOf.get(imageId) : undefined;
    if (!imageId || !instance) return { reason: "the view is a reformat, not an acquired image (click the view in the plane of acquisition)" };
    return { imageId, instance };
  }

  /** The volume views tell the toolbar when their window, slice or camera changes, and show in a
   * corner the window they were drawn with (so it is the picture's, tests wait for it). */
  private watch(cells: VolumeCell[]): void {
    for (const cell of cells) {
      const changed = () => this.hooks.viewChanged();
      cell.element.addEventListener(Enums.Events.VOI_MODIFIED, changed);
      cell.element.addEventListener(Enums.Events.CAMERA_MODIFIED, changed);
      cell.element.addEventListener(Enums.Events.IMAGE_RENDERED, () => this.showWindow(cell));
      this.showWindow(cell);
    }
    this.hooks.viewChanged();
  }

  private showWindow(cell: VolumeCell): void {
    const layer = this.windowLayers().find((l) => l.viewportId === cell.viewportId);
    const range = layer && cell.viewport?.getProperties(layer.volumeId)?.voiRange;
    cell.setCorner(range ? windowCorner(toWindow(range)) : "");
  }

  private setMode(mode: Mode): void {
    this.mode = mode;
    $("viewer").dataset.mode = mode;
    this.stackGrid.hidden = mode !== "stack";
    this.volumeGrid.hidden = mode === "stack";
    this.volumeGrid.dataset.layout = mode === "mpr" ? "1x3" : mode === "fusion" ? "1x2" : "";
    $("mode-mpr").setAttribute("aria-pressed", String(mode === "mpr"));
    $("mode-fusion").setAttribute("aria-pressed", String(mode === "fusion"));
    $("slab-controls").hidden = mode !== "mpr";
    $("opacity-control").hidden = mode !== "fusion";
    for (const control of document.querySelectorAll<HTMLButtonElement | HTMLInputElement>(STACK_CONTROLS)) control.disabled = mode !== "stack";
    this.activeCell = undefined;
    this.hooks.engine.resize(true, true);
    this.hooks.viewChanged();
  }

  async leave(): Promise<void> {
    this.mpr.close();
    this.fusion.close();
    this.setMode("stack");
  }

  async enterMpr(): Promise<void> {
    const slot = this.hooks.active();
    const series = slot?.series;
    if (!slot || !series) return this.hooks.status("Open a series first: MPR shows the active viewport's series");
    const check = volumeCheck(instancesOf(series));
    if (!check.ok) return this.hooks.status(`No MPR for this series: ${check.reason}`, true);
    const voi = slot.viewport.getProperties().voiRange;
    this.fusion.close();
    this.setMode("mpr");
    this.hooks.volumeViewsOpening();
    this.hooks.status(`MPR of ${series.summary.modality} ${series.summary.description}…`);
    await this.mpr.open(series, voi, (loaded, total) => this.hooks.status(loaded < total ? `Volume ${loaded} / ${total}` : ""));
    this.watch(this.mpr.cells);
    this.attachContours();
    ($("slab-thickness") as HTMLInputElement).value = "0";
    $("slab-value").textContent = "0 mm";
    this.hooks.status("");
  }

  async enterFusion(): Promise<void> {
    const pair = fusionPair(this.allSeries);
    if (!pair) return;
    const [ct, pt] = await Promise.all([loadSeries(this.hooks.root, pair.ct), loadSeries(this.hooks.root, pair.pt)]);
    if (!sameFrameOfReference(instancesOf(ct), instancesOf(pt))) return this.hooks.status("The PET and the CT are in different frames of reference: not fused", true);
    for (const s of [ct, pt]) {
      const check = volumeCheck(instancesOf(s));
      if (!check.ok) return this.hooks.status(`No fusion: the ${s.summary.modality} has ${check.reason}`, true);
    }
    this.mpr.close();
    this.setMode("fusion");
    ($("fusion-opacity") as HTMLInputElement).value = String(Math.round(this.fusion.opacity * 100));
    await this.fusion.open(ct, pt);
    this.watch(this.fusion.cells);
    this.attachContours();
  }

  private setSync(on: boolean): void {
    if (on) this.sync.enable();
    else this.sync.disable();
    $("sync-toggle").setAttribute("aria-pressed", String(on));
  }

  // --- Study picker -------------------------------------------------------------------------------

  private async pickStudies(): Promise<void> {
    const first = this.hooks.slots().find((s) => s.series)?.series?.first;
    const patientId = first ? text(first, Tag.PatientID) : "";
    if (!patientId) return this.hooks.status("No patient ID to look for other studies", true);
    const main = this.hooks.config.studies[0].studyInstanceUID;
    try {
      const rows = await patientStudies(this.hooks.root, patientId);
      renderPicker($("study-list"), rows, main, this.hooks.config.studies.map((s) => s.studyInstanceUID));
    } catch (error) {
      return this.hooks.status(`Studies of the patient could not be listed: ${error}`, true);
    }
    const dialog = $("study-picker") as HTMLDialogElement;
    dialog.onclose = () => {
      if (dialog.returnValue !== "compare") return;
      const chosen = [...$("study-list").querySelectorAll<HTMLInputElement>("input:checked:not(:disabled)")].map((b) => b.value);
      window.location.assign(compareUrl(window.location.pathname, main, chosen));
    };
    dialog.showModal();
  }

  // --- Segmentations ---------------------------------------------------------------------------

  /** The contours of every structure set shown, over every viewport of its frame of reference,
   * those opened since too (MPR and fusion views, a series put in a stack viewport). */
  private attachContours(): void {
    const engine = this.hooks.engine;
    const { ContourOverlay, inFrame } = this.segmentation ?? {};
    if (!ContourOverlay || !inFrame) return; // no structure set shown yet
    for (const entry of this.contours) {
      for (const overlay of entry.overlays.filter((o) => !o.live)) overlay.destroy();
      entry.overlays = entry.overlays.filter((o) => o.live);
      const covered = new Set(entry.overlays.map((o) => o.viewportId));
      for (const viewport of engine.getViewports()) {
        if (!covered.has(viewport.id) && inFrame(viewport, entry.structureSet)) entry.overlays.push(new ContourOverlay(engine, viewport.id, entry.structureSet, entry.hidden));
      }
    }
  }

  private renderOverlayPanel(): void {
    const overlays = this.allSeries.filter((s) => s.modality === "SEG" || s.modality === "RTSTRUCT");
    $("overlay-panel").hidden = overlays.length === 0;
    $("overlay-list").replaceChildren(
      ...overlays.map((summary) => {
        const item = document.createElement("li");
        item.dataset.seriesUid = summary.seriesInstanceUID;
        const button = document.createElement("button");
        button.type = "button";
        button.className = "overlay-load";
        button.textContent = `${summary.modality} ${summary.description || ""}`.trim();
        button.title = "Show over the images it was drawn on";
        button.addEventListener("click", () => {
          button.disabled = true;
          void this.showOverlay(summary, item).catch((error) => {
            button.disabled = false;
            this.hooks.status(`${summary.modality} could not be shown: ${error}`, true);
          });
        });
        item.append(button);
        return item;
      }),
    );
  }

  private async showOverlay(summary: SeriesSummary, item: HTMLElement): Promise<void> {
    this.hooks.status(`Loading ${summary.modality}…`);
    const [metadata, seg] = await Promise.all([seriesMetadata(this.hooks.root, summary), import("./segmentation")]);
    this.segmentation = seg;
    const sop = text(metadata[0], Tag.SOPInstanceUID);
    const dataset = await seg.fetchInstance(this.hooks.root, summary.studyInstanceUID, summary.seriesInstanceUID, sop);
    const referenced = seg.referencedSeriesOf(dataset);
    const target = referenced ? this.hooks.series(referenced) : undefined;
    if (!target) throw new Error("the series it refers to is not in this study");
    // Labelmaps are drawn on stack viewports only: a SEG pressed in MPR or fusion goes back to the stack.
    const left = summary.modality === "SEG" && this.mode !== "stack";
    if (left) await this.leave();
    let slot = this.hooks.slots().find((s) => s.series?.summary.seriesInstanceUID === target.seriesInstanceUID);
    if (!slot && this.mode === "stack") {
      slot = this.hooks.active();
      if (slot) await this.hooks.showSeries(slot, target);
    }
    let entries: SegmentInfo[];
    let toggle: (index: number, visible: boolean) => void;
    if (summary.modality === "SEG") {
      if (!slot?.series) throw new Error("no viewport shows the referenced series");
      const segmentationId = `seg-${summary.seriesInstanceUID}`;
      const viewportId = slot.viewportId;
      await seg.ensureWebGlStack(this.hooks.engine, viewportId, this.hooks.toolGroupId);
      entries = await seg.showSeg({ dataset, segmentationId, referencedImageIds: slot.series.imageIds, viewportId });
      toggle = (index, visible) => seg.setSegmentVisible(viewportId, segmentationId, index, visible);
      slot.viewport.render();
    } else {
      const contours = { structureSet: seg.parseStructureSet(dataset), hidden: new Set<number>(), overlays: [] as ContourOverlay[] };
      this.contours.push(contours);
      this.attachContours();
      entries = contours.structureSet.rois;
      toggle = (index, visible) => {
        if (visible) contours.hidden.delete(index);
        else contours.hidden.add(index);
        for (const overlay of contours.overlays) overlay.draw();
      };
    }
    const list = document.createElement("ul");
    list.className = "segment-list";
    for (const entry of entries) {
      const li = document.createElement("li");
      const label = document.createElement("label");
      const box = document.createElement("input");
      box.type = "checkbox";
      box.checked = true;
      box.dataset.segment = String(entry.index);
      box.addEventListener("change", () => toggle(entry.index, box.checked));
      const swatch = document.createElement("span");
      swatch.className = "swatch";
      swatch.style.backgroundColor = `rgb(${entry.color.join(",")})`;
      const name = document.createElement("span");
      name.textContent = entry.label;
      label.append(box, swatch, name);
      li.append(label);
      list.append(li);
    }
    item.append(list);
    item.dataset.shown = "true";
    this.hooks.status(left ? "The SEG is shown on the stack (labelmaps are not drawn in MPR or fusion)" : "");
  }

  // --- Export ------------------------------------------------------------------------------------

  /** ``root``: the viewport with its overlays (the host inside it holds the canvas). */
  private exportTarget(): { root: HTMLElement; element: HTMLElement; series?: string; index?: number } | undefined {
    if (this.mode !== "stack") {
      const cell = this.activeCell ?? this.volumeGrid.querySelector<HTMLElement>(".volume-cell");
      const host = cell?.querySelector<HTMLElement>(".viewport-host");
      return cell && host ? { root: cell, element: host, series: cell.dataset.viewportId } : undefined;
    }
    const slot = this.hooks.active();
    return slot?.series ? { root: slot.root, element: slot.element, series: slot.series.summary.seriesInstanceUID, index: slot.imageIndex } : undefined;
  }

  private async exportPng(): Promise<void> {
    const target = this.exportTarget();
    const canvas = target && viewportCanvas(target.element);
    if (!target || !canvas) return this.hooks.status("Nothing to export", true);
    const blob = await exportPng(canvas, overlayLayers(target.root), exportName(target.series, target.index, "png"));
    $("viewer").dataset.exported = String(blob.size);
    this.hooks.status("Exported as PNG");
  }

  private async exportCine(): Promise<void> {
    const slot = this.hooks.active();
    const canvas = slot?.series && this.mode === "stack" ? viewportCanvas(slot.element) : undefined;
    if (!slot || !canvas) return this.hooks.status("Cine export works on a stack viewport", true);
    const fps = Math.max(1, Math.min(60, Number(($("cine-fps") as HTMLInputElement).value) || 15));
    const start = slot.imageIndex;
    const button = $("export-cine") as HTMLButtonElement;
    button.disabled = true;
    this.hooks.status(`Recording ${slot.imageCount} images at ${fps} fps…`);
    const viewport = slot.viewport as StackViewport;
    const show = async (index: number) => {
      if (viewport.getCurrentImageIdIndex() === index) return;
      const drawn = new Promise<void>((resolve) => {
        const done = () => {
          slot.element.removeEventListener(Enums.Events.IMAGE_RENDERED, done);
          resolve();
        };
        slot.element.addEventListener(Enums.Events.IMAGE_RENDERED, done);
        setTimeout(done, 1000);
      });
      await viewport.setImageIdIndex(index);
      await drawn;
    };
    try {
      const name = exportName(slot.series?.summary.seriesInstanceUID, undefined, "webm");
      const blob = await recordCine(canvas, slot.imageCount, fps, show, name, () => overlayLayers(slot.root));
      $("viewer").dataset.exported = String(blob.size);
      this.hooks.status(`Exported ${slot.imageCount} images as WebM`);
    } catch (error) {
      this.hooks.status(`Video not recorded: ${error}`, true);
    } finally {
      button.disabled = false;
      await slot.scrollTo(start);
    }
  }
}
