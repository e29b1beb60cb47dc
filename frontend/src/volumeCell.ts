/** A cell of the volume grid (MPR, fusion): an ORTHOGRAPHIC volume viewport with a label. The
 * volume grid replaces the stack grid while MPR or fusion is on. */
import { Enums, type RenderingEngine, type Types, type VolumeViewport, cache, eventTarget } from "@cornerstonejs/core";

export class VolumeCell {
  readonly root: HTMLDivElement;
  readonly element: HTMLDivElement;
  private readonly label: HTMLDivElement;
  private readonly corner: HTMLDivElement;
  private renders = 0;

  constructor(
    readonly viewportId: string,
    readonly engine: RenderingEngine,
    host: HTMLElement,
    orientation: Enums.OrientationAxis,
    title: string,
  ) {
    this.root = document.createElement("div");
    this.root.className = "viewport volume-cell";
    this.root.dataset.viewportId = viewportId;
    this.root.dataset.orientation = orientation;
    this.element = document.createElement("div");
    this.element.className = "viewport-host";
    this.element.addEventListener("contextmenu", (e) => e.preventDefault());
    this.label = document.createElement("div");
    this.label.className = "overlay tl";
    this.label.textContent = title;
    this.corner = document.createElement("div");
    this.corner.className = "overlay bl"; // the window, as in a stack viewport
    this.root.append(this.element, this.label, this.corner);
    host.append(this.root);
    engine.enableElement({
      viewportId,
      type: Enums.ViewportType.ORTHOGRAPHIC,
      element: this.element,
      defaultOptions: { orientation, background: [0, 0, 0] as Types.Point3 },
    });
    // How many times it was drawn (tests wait for a new drawing after a change).
    this.element.addEventListener(Enums.Events.IMAGE_RENDERED, () => {
      this.renders += 1;
      this.root.dataset.renders = String(this.renders);
    });
  }

  get viewport(): VolumeViewport {
    return this.engine.getViewport(this.viewportId) as VolumeViewport;
  }

  setTitle(title: string): void {
    this.label.textContent = title;
  }

  setCorner(text: string): void {
    if (this.corner.textContent !== text) this.corner.textContent = text;
  }

  destroy(): void {
    this.engine.disableElement(this.viewportId);
    this.root.remove();
  }
}

/** A streaming volume of a series' frames (the same image ids and cache as the stack). */
export function volumeIdOf(seriesInstanceUID: string): string {
  return `cornerstoneStreamingImageVolume:${seriesInstanceUID}`;
}

/** Mark ``host`` data-volume="loading" until every volume has all its frames, then "loaded"
 * (tests and the MPR benchmark wait for it). */
export function trackVolumeLoad(host: HTMLElement, volumeIds: string[]): void {
  const pending = new Set(volumeIds.filter((id) => !(cache.getVolume(id) as { loadStatus?: { loaded?: boolean } } | undefined)?.loadStatus?.loaded));
  host.dataset.volume = pending.size ? "loading" : "loaded";
  if (!pending.size) return;
  const listener = ((event: CustomEvent) => {
    pending.delete((event.detail as { volumeId?: string }).volumeId ?? "");
    if (pending.size === 0) {
      host.dataset.volume = "loaded";
      eventTarget.removeEventListener(Enums.Events.IMAGE_VOLUME_LOADING_COMPLETED, listener);
    }
  }) as EventListener;
  eventTarget.addEventListener(Enums.Events.IMAGE_VOLUME_LOADING_COMPLETED, listener);
}
