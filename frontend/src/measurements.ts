/** Between Cornerstone annotations and the annotations API's rows: what is saved, and how a
 * saved row becomes an annotation again. Plain objects in, plain objects out (tested). */
import type { SavedAnnotation } from "./annotationsClient";
import { frameImageId, parseImageId } from "./imageIds";

// The tools whose annotations are measurements we save (Cornerstone tool names).
export const MEASUREMENT_TOOLS = ["Length", "Angle", "EllipticalROI", "RectangleROI", "Probe", "ArrowAnnotate"] as const;

export interface CornerstoneAnnotation {
  annotationUID?: string;
  metadata: { toolName: string; referencedImageId?: string; FrameOfReferenceUID?: string; [key: string]: unknown };
  data: { handles?: unknown; cachedStats?: Record<string, unknown>; label?: string; text?: string; [key: string]: unknown };
  isLocked?: boolean;
  isVisible?: boolean;
  invalidated?: boolean;
  highlighted?: boolean;
  [key: string]: unknown;
}

export function isMeasurement(annotation: CornerstoneAnnotation): boolean {
  return (MEASUREMENT_TOOLS as readonly string[]).includes(annotation.metadata?.toolName);
}

/** Only JSON: no element references or functions, and no keys Cornerstone adds at run time. */
function plain(value: unknown): unknown {
  return JSON.parse(JSON.stringify(value ?? null));
}

/** The row for an annotation, with the study it belongs to; undefined for one not on a DICOMweb frame.
 *
 * A measurement drawn on a reformatted MPR view has no acquired image of its own: it is kept on
 * ``anchorImageId`` (the series' acquired image nearest to it: mpr.ts), for the study, the series
 * and who may see it, and marked ``reformat``; its plane (Frame of Reference, view normal, focal
 * point) and its points in patient coordinates are what put it back on the view. */
export function toSaved(annotation: CornerstoneAnnotation, anchorImageId?: string): { studyInstanceUID: string; row: SavedAnnotation } | undefined {
  const own = annotation.metadata.referencedImageId;
  const ref = parseImageId(own ?? anchorImageId ?? "");
  if (!ref || !annotation.annotationUID) return undefined;
  const { referencedImageId: _drop, ...metadata } = annotation.metadata;
  const saved = { metadata, data: annotation.data, isLocked: annotation.isLocked ?? false, isVisible: annotation.isVisible ?? true };
  const row: SavedAnnotation = {
    uid: annotation.annotationUID,
    tool: annotation.metadata.toolName,
    series_instance_uid: ref.seriesInstanceUID,
    sop_instance_uid: ref.sopInstanceUID,
    frame: ref.frame,
    data: plain(own ? saved : { ...saved, reformat: true }) as Record<string, unknown>,
    label: String(annotation.data.text ?? annotation.data.label ?? ""),
  };
  return { studyInstanceUID: ref.studyInstanceUID, row };
}

/** Whether a saved row is a measurement on a reformatted view (toSaved). */
export function isReformat(saved: SavedAnnotation): boolean {
  return (saved.data as { reformat?: boolean }).reformat === true;
}

/** An annotation to add back to Cornerstone's state; its statistics are recomputed on render. */
export function fromSaved(saved: SavedAnnotation, root: string, studyInstanceUID: string): CornerstoneAnnotation {
  const stored = plain(saved.data) as { metadata?: Record<string, unknown>; data?: CornerstoneAnnotation["data"]; isLocked?: boolean; isVisible?: boolean };
  const image = frameImageId(root, {
    studyInstanceUID,
    seriesInstanceUID: saved.series_instance_uid,
    sopInstanceUID: saved.sop_instance_uid,
    frame: saved.frame,
  });
  // On a reformat the plane places it, not an image (a stack never shows it).
  const referencedImageId = isReformat(saved) ? {} : { referencedImageId: image };
  return {
    annotationUID: saved.uid,
    metadata: { ...(stored.metadata ?? {}), toolName: saved.tool, ...referencedImageId },
    data: { ...(stored.data ?? {}), cachedStats: {} },
    isLocked: stored.isLocked ?? false,
    isVisible: stored.isVisible ?? true,
    invalidated: true,
    highlighted: false,
  };
}

/** A stable text of what the reader changed (the points, a moved text box, the text):
 * equal texts need no request. Cornerstone rewrites statistics and the text box's bounding
 * box on every render; those alone are no change. */
export function fingerprint(row: SavedAnnotation): string {
  const { data, ...rest } = row;
  const { data: inner, isVisible, isLocked } = data as { data?: Record<string, unknown>; isVisible?: boolean; isLocked?: boolean };
  const handles = (inner?.handles ?? {}) as { points?: unknown; textBox?: { hasMoved?: boolean; worldPosition?: unknown } };
  const textBox = handles.textBox?.hasMoved ? handles.textBox.worldPosition : null;
  return JSON.stringify([rest, handles.points ?? null, textBox, inner?.text ?? inner?.label ?? null, isVisible ?? true, isLocked ?? false]);
}
