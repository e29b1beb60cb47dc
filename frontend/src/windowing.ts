/** The toolbar's window (sliders, preset select, number keys, readout) and what it acts on: the
 * active stack viewport, the three MPR views of one volume, or the CT of the fused view (never
 * the PET, whose range stays in SUV). Pure: tested in windowing.test.ts. */
import { CT_PRESETS, type WindowPreset } from "./presets";

export interface Window {
  center: number;
  width: number;
}

export interface VoiRange {
  lower: number;
  upper: number;
}

/** What the window controls set and read: the stack slot or the volume views on screen. */
export interface WindowTarget {
  getWindow(): Window | undefined;
  setWindow(window: Window): void;
  /** Back to the image's own window (its VOI LUT module), as when it was opened. */
  resetWindow(): void;
}

// Cornerstone's LINEAR conversion (utilities.windowLevel): W = upper − lower + 1,
// C = (lower + upper + 1) / 2, so a stack and a volume on the same window read the same.
export function toWindow(range: VoiRange): Window {
  return { center: (range.lower + range.upper + 1) / 2, width: Math.abs(range.upper - range.lower) + 1 };
}

export function toRange(window: Window): VoiRange {
  return { lower: window.center - 0.5 - (window.width - 1) / 2, upper: window.center - 0.5 + (window.width - 1) / 2 };
}

/** "C 40 / W 400": the toolbar's readout, rounded as the sliders are. */
export function windowReadout(window: Window): string {
  return `C ${Math.round(window.center)} / W ${Math.round(window.width)}`;
}

/** "W 400  L 40": the window in a viewport's corner (stack and volume views alike). */
export function windowCorner(window: Window): string {
  return `W ${Math.round(window.width)}  L ${Math.round(window.center)}`;
}

/** The preset the window is (after rounding), for the preset select. */
export function presetOf(window: Window, presets: WindowPreset[] = CT_PRESETS): WindowPreset | undefined {
  return presets.find((p) => p.center === Math.round(window.center) && p.width === Math.round(window.width));
}

/** One volume drawn in one volume viewport; ``imageWindow`` is the range Cornerstone gave it from
 * the images' VOI LUT (what "Image window" and the 0 key go back to). */
export interface VolumeLayer {
  viewportId: string;
  volumeId: string;
  modality: string;
  imageWindow?: VoiRange;
}

/** The layers the window controls set: in MPR all three views of the volume (one window, whatever
 * the modality); in fusion the CT alone (the PET overlay and the PET view keep their SUV range). */
export function windowedLayers(mode: "mpr" | "fusion", layers: VolumeLayer[]): VolumeLayer[] {
  return mode === "mpr" ? layers : layers.filter((l) => l.modality !== "PT");
}

/** The layer whose window the controls show: the clicked view's, else the first. */
export function shownLayer(layers: VolumeLayer[], activeViewportId?: string): VolumeLayer | undefined {
  return layers.find((l) => l.viewportId === activeViewportId) ?? layers[0];
}
