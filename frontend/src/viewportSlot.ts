/** One cell of the layout grid: a Cornerstone stack viewport, its corner overlays and
 * orientation markers. All DICOM text goes in with textContent (patient names are untrusted). */
import { Enums, type RenderingEngine, type StackViewport, type Types } from "@cornerstonejs/core";
import { ToolGroupManager } from "@cornerstonejs/tools";
import { enableStackElement } from "./renderBackend";
import { type DicomJson, Tag, displayDate, displayName, number, numbers, text } from "./dicomjson";
import type { LoadedSeries } from "./loader";
import { markersFor } from "./orientation";
import type { WindowPreset } from "./presets";
import { slicePosition, type Vec3 } from "./stackOrder";
import { type Window, type WindowTarget, toRange, toWindow, windowCorner } from "./windowing";

function el<K extends keyof HTMLElementTagNameMap>(tag: K, className: string, parent?: HTMLElement): HTMLElementTagNameMap[K] {
  const node = document.createElement(tag);
  node.className = className;
  parent?.appendChild(node);
  return node;
}

function lines(node: HTMLElement, values: Array<string | undefined>): void {
  node.textContent = values.filter((v) => v !== undefined && v !== "").join("\n");
}

/** The zoom relative to fitting the image in the viewport (Cornerstone's CPU path has no zoom
 * value of its own: it is derived from the camera's parallel scale). */
function zoomText(viewport: StackViewport): string | undefined {
  let zoom: number | undefined;
  try {
    zoom = viewport.getZoom();
  } catch {
    zoom = undefined;
  }
  return typeof zoom === "number" && Number.isFinite(zoom) ? `Zoom ${zoom.toFixed(2)}×` : undefined;
}

export class ViewportSlot implements WindowTarget {
  readonly root: HTMLDivElement;
  readonly element: HTMLDivElement;
  readonly viewportId: string;
  series?: LoadedSeries;
  keyImages: Set<string> = new Set();
  private readonly corners: Record<"tl" | "tr" | "bl" | "br", HTMLDivElement>;
  private readonly markers: Record<"top" | "bottom" | "left" | "right", HTMLDivElement>;
  private readonly empty: HTMLDivElement;
  private readonly loadingBar: HTMLDivElement;
  private unsubscribe?: () => void;

  constructor(
    readonly index: number,
    private readonly engine: RenderingEngine,
    private readonly toolGroupId: string,
  ) {
    this.viewportId = `viewport-${index}`;
    this.root = el("div", "viewport");
    this.root.dataset.index = String(index);
    this.element = el("div", "viewport-host", this.root);
    this.element.addEventListener("contextmenu", (e) => e.preventDefault());
    this.empty = el("div", "empty", this.root);
    this.empty.textContent = "Drag a series here";
    this.corners = { tl: el("div", "overlay tl", this.root), tr: el("div", "overlay tr", this.root), bl: el("div", "overlay bl", this.root), br: el("div", "overlay br", this.root) };
    this.markers = {
      top: el("div", "marker top", this.root),
      bottom: el("div", "marker bottom", this.root),
      left: el("div", "marker left", this.root),
      right: el("div", "marker right", this.root),
    };
    this.loadingBar = el("div", "loading", this.root);
    this.loadingBar.hidden = true;
  }

  enable(): void {
    enableStackElement(this.engine, {
      viewportId: this.viewportId,
      type: Enums.ViewportType.STACK,
      element: this.element,
      defaultOptions: { background: [0, 0, 0] as Types.Point3 },
    });
    ToolGroupManager.getToolGroup(this.toolGroupId)?.addViewport(this.viewportId, this.engine.id);
    // Which image is on the canvas (tests and benchmarks wait for it).
    this.element.addEventListener(Enums.Events.IMAGE_RENDERED, () => {
      this.root.dataset.rendered = String(this.imageIndex);
    });
    const update = () => this.updateOverlays();
    for (const name of [Enums.Events.STACK_NEW_IMAGE, Enums.Events.VOI_MODIFIED, Enums.Events.CAMERA_MODIFIED]) {
      this.element.addEventListener(name, update);
    }
  }

  disable(): void {
    this.unsubscribe?.();
    ToolGroupManager.getToolGroup(this.toolGroupId)?.removeViewports(this.engine.id, this.viewportId);
    this.engine.disableElement(this.viewportId);
  }

  get viewport(): StackViewport {
    return this.engine.getViewport(this.viewportId) as StackViewport;
  }

  /** Show a series from ``startIndex`` (the middle slice by default… no: the first, as readers expect). */
  async show(series: LoadedSeries, preset?: WindowPreset, startIndex = 0): Promise<void> {
    this.unsubscribe?.();
    this.series = series;
    this.root.dataset.series = series.summary.seriesInstanceUID;
    this.root.dataset.state = "loading";
    this.empty.hidden = true;
    const viewport = this.viewport;
    await viewport.setStack(series.imageIds, Math.min(startIndex, series.imageIds.length - 1));
    if (preset) this.setWindow({ center: preset.center, width: preset.width });
    viewport.render();
    this.root.dataset.state = "shown";
    this.unsubscribe = series.onProgress(() => this.updateLoading());
    this.updateLoading();
    this.updateOverlays();
    series.prefetch(viewport.getCurrentImageIdIndex());
  }

  private updateLoading(): void {
    if (!this.series) return;
    const done = this.series.loaded.size / this.series.imageIds.length;
    this.loadingBar.hidden = done >= 1;
    this.loadingBar.style.transform = `scaleX(${done})`;
  }

  get imageIndex(): number {
    return this.series ? this.viewport.getCurrentImageIdIndex() : 0;
  }

  get imageCount(): number {
    return this.series?.imageIds.length ?? 0;
  }

  get currentImageId(): string | undefined {
    return this.series ? this.viewport.getCurrentImageId() : undefined;
  }

  get currentInstance(): DicomJson | undefined {
    const id = this.currentImageId;
    return id ? this.series?.instanceOf.get(id) : undefined;
  }

  /** The image asked for last (it may still be loading): steps count from here, so quick key
   * presses are never lost. */
  get targetIndex(): number {
    return this.series ? this.viewport.getTargetImageIdIndex() : 0;
  }

  async scrollTo(index: number): Promise<void> {
    if (!this.series) return;
    const clamped = Math.max(0, Math.min(this.imageCount - 1, index));
    if (clamped !== this.targetIndex) await this.viewport.setImageIdIndex(clamped);
  }

  getWindow(): Window | undefined {
    const range = this.series ? this.viewport.getProperties().voiRange : undefined;
    return range ? toWindow(range) : undefined;
  }

  setWindow(window: Window): void {
    if (!this.series) return;
    this.viewport.setProperties({ voiRange: toRange(window) });
    this.viewport.render();
  }

  resetWindow(): void {
    if (!this.series) return;
    this.viewport.resetToDefaultProperties();
    this.viewport.render();
    this.updateOverlays();
  }

  updateOverlays(): void {
    const instance = this.currentInstance;
    if (!this.series || !instance) {
      for (const node of [...Object.values(this.corners), ...Object.values(this.markers)]) node.textContent = "";
      return;
    }
    const viewport = this.viewport;
    const s = this.series.summary;
    const thickness = number(instance, Tag.SliceThickness);
    const position = number(instance, Tag.SliceLocation) ?? slicePosition(instance);
    const birth = text(instance, Tag.PatientBirthDate);
    lines(this.corners.tl, [
      displayName(text(instance, Tag.PatientName)),
      [text(instance, Tag.PatientID), birth && `*${displayDate(birth)}`, text(instance, Tag.PatientSex)].filter(Boolean).join("  "),
      displayDate(text(instance, Tag.StudyDate)),
      text(instance, Tag.StudyDescription),
    ]);
    const imageId = this.currentImageId ?? "";
    lines(this.corners.tr, [
      `${s.modality}  Se ${s.seriesNumber ?? "–"}`,
      s.description,
      `Image ${this.imageIndex + 1} / ${this.imageCount}${this.keyImages.has(imageId) ? "  ★" : ""}`,
      position !== undefined ? `Pos ${position.toFixed(1)} mm` : undefined,
      thickness !== undefined ? `Thick ${Number(thickness.toFixed(2))} mm` : undefined,
    ]);
    const window = this.getWindow();
    const rows = number(instance, Tag.Rows);
    const columns = number(instance, Tag.Columns);
    lines(this.corners.bl, [
      window ? windowCorner(window) : undefined,
      zoomText(viewport),
      viewport.getProperties().invert ? "Inverted" : undefined,
    ]);
    const spacing = numbers(instance, Tag.PixelSpacing);
    lines(this.corners.br, [
      rows && columns ? `${columns} × ${rows}` : undefined,
      spacing.length === 2 ? `${spacing[1].toFixed(3)} × ${spacing[0].toFixed(3)} mm` : undefined,
    ]);
    const camera = viewport.getCamera();
    if (camera.viewUp && camera.viewPlaneNormal && numbers(instance, Tag.ImageOrientationPatient).length === 6) {
      const m = markersFor(camera.viewUp as Vec3, camera.viewPlaneNormal as Vec3);
      this.markers.top.textContent = m.top;
      this.markers.bottom.textContent = m.bottom;
      this.markers.left.textContent = m.left;
      this.markers.right.textContent = m.right;
    } else {
      for (const node of Object.values(this.markers)) node.textContent = "";
    }
  }
}
