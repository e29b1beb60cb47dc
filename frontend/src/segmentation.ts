/** Segmentation overlays: a DICOM SEG as a coloured labelmap over the series it was drawn on
 * (parsed by @cornerstonejs/adapters), each segment listed and toggled; an RTSTRUCT's planar
 * contours drawn over every viewport in its frame of reference. Both objects come through WADO-RS
 * as application/dicom and are parsed with dcmjs. All DICOM text goes in as textContent. */
import { Enums, type RenderingEngine, type StackViewport, type Types, metaData } from "@cornerstonejs/core";
import { Enums as ToolEnums, ToolGroupManager, segmentation } from "@cornerstonejs/tools";
import { adaptersSEG } from "@cornerstonejs/adapters";
import dcmjs from "dcmjs";

type Naturalized = Record<string, unknown>;
interface DcmjsData {
  DicomMessage: { readFile(buffer: ArrayBuffer): { dict: unknown; meta: unknown } };
  DicomMetaDictionary: { naturalizeDataset(dict: unknown): Naturalized };
  Colors: { dicomlab2RGB(lab: number[]): number[] };
}
const data = dcmjs.data as unknown as DcmjsData;

function asArray<T>(value: unknown): T[] {
  if (value === undefined || value === null) return [];
  return (Array.isArray(value) ? value : [value]) as T[];
}

/** One instance as a DICOM file (PS3.18 10.4.1.1.1, Accept: application/dicom). */
export async function fetchInstance(root: string, study: string, series: string, sop: string): Promise<Naturalized> {
  const response = await fetch(`${root}/studies/${study}/series/${series}/instances/${sop}`, { headers: { Accept: "application/dicom" }, credentials: "same-origin" });
  if (!response.ok) throw new Error(`instance ${sop}: ${response.status}`);
  const buffer = await response.arrayBuffer();
  const file = data.DicomMessage.readFile(buffer);
  const dataset = data.DicomMetaDictionary.naturalizeDataset(file.dict);
  (dataset as { __buffer?: ArrayBuffer }).__buffer = buffer;
  return dataset;
}

/** The series a SEG or RTSTRUCT was drawn on. */
export function referencedSeriesOf(dataset: Naturalized): string | undefined {
  const seg = asArray<Naturalized>(dataset.ReferencedSeriesSequence)[0]?.SeriesInstanceUID;
  if (seg) return String(seg);
  for (const frame of asArray<Naturalized>(dataset.ReferencedFrameOfReferenceSequence)) {
    for (const study of asArray<Naturalized>(frame.RTReferencedStudySequence)) {
      const series = asArray<Naturalized>(study.RTReferencedSeriesSequence)[0]?.SeriesInstanceUID;
      if (series) return String(series);
    }
  }
  return undefined;
}

export interface SegmentInfo {
  index: number;
  label: string;
  color: [number, number, number];
}

function labColor(lab: unknown): [number, number, number] | undefined {
  const values = asArray<number>(lab).map(Number);
  if (values.length !== 3) return undefined;
  const rgb = data.Colors.dicomlab2RGB(values).map((v) => Math.round(Math.max(0, Math.min(1, v)) * 255));
  return [rgb[0], rgb[1], rgb[2]];
}

// Segment colours when the SEG recommends none (Cornerstone's first labelmap colours).
const FALLBACK: Array<[number, number, number]> = [
  [221, 84, 84], [77, 228, 121], [166, 70, 235], [189, 180, 116], [109, 182, 196], [232, 146, 72],
];

/** A SEG on a stack viewport showing its referenced series: one labelmap, a list of segments. */
export async function showSeg(options: {
  dataset: Naturalized;
  segmentationId: string;
  referencedImageIds: string[];
  viewportId: string;
}): Promise<SegmentInfo[]> {
  const { dataset, segmentationId, referencedImageIds, viewportId } = options;
  const buffer = (dataset as { __buffer?: ArrayBuffer }).__buffer!;
  const custom = new Map<string, unknown>();
  const provider = {
    get: (type: string, imageId: string) => custom.get(`${type}|${imageId}`) ?? metaData.get(type, imageId),
    addCustomMetadata: (imageId: string, type: string, value: unknown) => custom.set(`${type}|${imageId}`, value),
  };
  const parsed = (await adaptersSEG.Cornerstone3D.Segmentation.createFromDICOMSegBuffer(referencedImageIds, buffer, { metadataProvider: provider })) as {
    labelMapImages: Array<Array<{ imageId: string }>> | Array<{ imageId: string }>;
  };
  const imageIds = (parsed.labelMapImages as unknown[]).flat(2).map((image) => (image as { imageId: string }).imageId);
  const segments: SegmentInfo[] = asArray<Naturalized>(dataset.SegmentSequence).map((segment, i) => ({
    index: Number(segment.SegmentNumber ?? i + 1),
    label: String(segment.SegmentLabel ?? segment.SegmentDescription ?? `Segment ${i + 1}`),
    color: labColor(segment.RecommendedDisplayCIELabValue) ?? FALLBACK[i % FALLBACK.length],
  }));
  if (!segmentation.state.getSegmentation(segmentationId)) {
    segmentation.addSegmentations([
      {
        segmentationId,
        representation: { type: ToolEnums.SegmentationRepresentations.Labelmap, data: { imageIds } },
        config: { label: String(dataset.SeriesDescription ?? "SEG"), segments: Object.fromEntries(segments.map((s) => [s.index, { segmentIndex: s.index, label: s.label, locked: false, cachedStats: {}, active: false }])) },
      } as never,
    ]);
  }
  await segmentation.addLabelmapRepresentationToViewport(viewportId, [{ segmentationId }]);
  for (const s of segments) {
    segmentation.config.color.setSegmentIndexColor(viewportId, segmentationId, s.index, [...s.color, 255] as Types.Color);
  }
  return segments;
}

/**
 * Labelmaps are drawn by WebGL: a stack viewport on Cornerstone's CPU path (chosen where WebGL
 * is only emulated, renderBackend.ts) is enabled again on WebGL, on the same image and window.
 */
export async function ensureWebGlStack(engine: RenderingEngine, viewportId: string, toolGroupId: string): Promise<void> {
  const old = engine.getViewport(viewportId) as StackViewport & { getUseCustomRenderingPipeline?: () => boolean };
  if (!old?.getUseCustomRenderingPipeline?.()) return;
  const element = old.element;
  const imageIds = old.getImageIds();
  const index = old.getCurrentImageIdIndex();
  const { voiRange, invert } = old.getProperties();
  const group = ToolGroupManager.getToolGroup(toolGroupId);
  // Between disabling and enabling there is no viewport: the page's listeners on this element
  // (overlays, controls) must not hear Cornerstone's events from that gap.
  const hush = (event: Event) => event.stopImmediatePropagation();
  const names = Object.values(Enums.Events) as string[];
  for (const name of names) element.addEventListener(name, hush, { capture: true });
  try {
    group?.removeViewports(engine.id, viewportId);
    engine.disableElement(viewportId);
    engine.enableElement({ viewportId, type: Enums.ViewportType.STACK, element, defaultOptions: { background: [0, 0, 0] as Types.Point3 } });
    group?.addViewport(viewportId, engine.id);
  } finally {
    for (const name of names) element.removeEventListener(name, hush, { capture: true });
  }
  const viewport = engine.getViewport(viewportId) as StackViewport;
  await viewport.setStack(imageIds, index);
  viewport.setProperties({ voiRange, invert });
  viewport.render();
}

export function setSegmentVisible(viewportId: string, segmentationId: string, segmentIndex: number, visible: boolean): void {
  segmentation.config.visibility.setSegmentIndexVisibility(viewportId, { segmentationId, type: ToolEnums.SegmentationRepresentations.Labelmap }, segmentIndex, visible);
}

// --- RTSTRUCT -------------------------------------------------------------------------------------

export interface Contour {
  roi: number;
  points: number[]; // x, y, z, x, y, z … in patient coordinates (mm)
  closed: boolean;
}

export interface StructureSet {
  frameOfReferenceUID: string;
  rois: SegmentInfo[];
  contours: Contour[];
}

/** The ROIs (name, colour) and planar contours of an RTSTRUCT (PS3.3 C.8.8.5, C.8.8.6). */
export function parseStructureSet(dataset: Naturalized): StructureSet {
  const names = new Map<number, string>();
  let frameOfReferenceUID = "";
  for (const roi of asArray<Naturalized>(dataset.StructureSetROISequence)) {
    names.set(Number(roi.ROINumber), String(roi.ROIName ?? `ROI ${roi.ROINumber}`));
    frameOfReferenceUID ||= String(roi.ReferencedFrameOfReferenceUID ?? "");
  }
  const rois: SegmentInfo[] = [];
  const contours: Contour[] = [];
  asArray<Naturalized>(dataset.ROIContourSequence).forEach((item, i) => {
    const roi = Number(item.ReferencedROINumber);
    const color = asArray<number>(item.ROIDisplayColor).map(Number);
    rois.push({ index: roi, label: names.get(roi) ?? `ROI ${roi}`, color: color.length === 3 ? [color[0], color[1], color[2]] : FALLBACK[i % FALLBACK.length] });
    for (const contour of asArray<Naturalized>(item.ContourSequence)) {
      const points = asArray<number>(contour.ContourData).map(Number);
      if (points.length >= 6) contours.push({ roi, points, closed: String(contour.ContourGeometricType ?? "CLOSED_PLANAR") === "CLOSED_PLANAR" });
    }
  });
  return { frameOfReferenceUID, rois, contours };
}

const SVG = "http://www.w3.org/2000/svg";

/** Whether a viewport shows the structure set's frame of reference (any, when it names none). */
export function inFrame(viewport: Types.IViewport, structureSet: StructureSet): boolean {
  return !structureSet.frameOfReferenceUID || viewport.getFrameOfReferenceUID() === structureSet.frameOfReferenceUID;
}

/** Draws a structure set's contours that lie in the plane on screen, over one viewport. */
export class ContourOverlay {
  readonly svg: SVGSVGElement;
  private readonly element: HTMLDivElement;
  private readonly redraw = () => this.draw();

  constructor(
    private readonly engine: RenderingEngine,
    readonly viewportId: string,
    readonly structureSet: StructureSet,
    readonly hidden = new Set<number>(), // ROI numbers not drawn (shared by a structure set's overlays)
  ) {
    const viewport = engine.getViewport(viewportId);
    this.element = viewport.element;
    this.svg = document.createElementNS(SVG, "svg");
    this.svg.setAttribute("class", "contour-overlay");
    viewport.element.parentElement?.append(this.svg);
    viewport.element.addEventListener(Enums.Events.IMAGE_RENDERED, this.redraw);
    this.draw();
  }

  /** Still over a live viewport of its frame of reference (a volume view closes with its mode; a
   * stack viewport may now show a series of another frame of reference). */
  get live(): boolean {
    const viewport = this.engine.getViewport(this.viewportId) as Types.IViewport | undefined;
    return this.svg.isConnected && viewport?.element === this.element && inFrame(viewport, this.structureSet);
  }

  draw(): void {
    const viewport = this.engine.getViewport(this.viewportId) as Types.IViewport | undefined;
    if (!viewport || viewport.element !== this.element) return;
    if (viewport.element.clientWidth === 0) {
      // Hidden (the stack grid under MPR or fusion): drawn again when it is rendered.
      this.svg.replaceChildren();
      this.svg.dataset.drawn = "0";
      return;
    }
    const { focalPoint, viewPlaneNormal } = viewport.getCamera();
    if (!focalPoint || !viewPlaneNormal) return;
    const [nx, ny, nz] = viewPlaneNormal;
    const plane = nx * focalPoint[0] + ny * focalPoint[1] + nz * focalPoint[2];
    const spacing = (viewport as { getImageData?: () => { spacing?: number[] } | undefined }).getImageData?.()?.spacing?.[2] ?? 2;
    const tolerance = Math.max(0.5, spacing / 2);
    const colors = new Map(this.structureSet.rois.map((r) => [r.index, r.color]));
    const shapes: SVGElement[] = [];
    for (const contour of this.structureSet.contours) {
      if (this.hidden.has(contour.roi)) continue;
      const p = contour.points;
      if (Math.abs(nx * p[0] + ny * p[1] + nz * p[2] - plane) > tolerance) continue;
      const canvas: string[] = [];
      for (let i = 0; i + 2 < p.length; i += 3) {
        const [x, y] = viewport.worldToCanvas([p[i], p[i + 1], p[i + 2]] as Types.Point3);
        if (Number.isFinite(x) && Number.isFinite(y)) canvas.push(`${x.toFixed(1)},${y.toFixed(1)}`);
      }
      if (canvas.length < 2) continue;
      const shape = document.createElementNS(SVG, contour.closed ? "polygon" : "polyline");
      shape.setAttribute("points", canvas.join(" "));
      shape.setAttribute("fill", "none");
      shape.setAttribute("stroke", `rgb(${(colors.get(contour.roi) ?? [255, 255, 0]).join(",")})`);
      shape.setAttribute("stroke-width", "1.5");
      shape.dataset.roi = String(contour.roi);
      shapes.push(shape);
    }
    this.svg.replaceChildren(...shapes);
    this.svg.dataset.drawn = String(shapes.length);
  }

  destroy(): void {
    this.element.removeEventListener(Enums.Events.IMAGE_RENDERED, this.redraw);
    this.svg.remove();
  }
}
