/** Cornerstone, the image loader and the viewer page started: the code main.ts loads on demand. */
import { init as coreInit, getRenderingCapabilities } from "@cornerstonejs/core";
import { init as dicomImageLoaderInit } from "@cornerstonejs/dicom-image-loader/imageLoader";
import { Viewer } from "./app";
import type { ViewerConfig } from "./config";
import { registerFrameLoader } from "./frameLoader";
import type { SeriesSummary } from "./hangingProtocol";
import { preferCpuRendering, setStackCpuRendering } from "./renderBackend";

/** ``seriesSearch``: the QIDO-RS answers main.ts asked for, one per study. */
export async function startViewer(config: ViewerConfig, seriesSearch: Promise<SeriesSummary[]>[]): Promise<void> {
  // Frames are decoded in web workers (one per two cores, at least one). They are started first:
  // their script (0.2 MB) loads and compiles while Cornerstone's init probes WebGL, and is ready
  // when the first frame arrives.
  dicomImageLoaderInit({ maxWebWorkers: Math.max(1, Math.min(4, Math.floor((navigator.hardwareConcurrency || 2) / 2))) });
  registerFrameLoader();
  await coreInit();
  const { webgl, renderer } = getRenderingCapabilities(); // probed by the init (no second WebGL context)
  const cpu = preferCpuRendering(window.location.search, webgl ? renderer : undefined);
  setStackCpuRendering(cpu);
  document.getElementById("viewer")?.setAttribute("data-render", cpu ? "cpu" : "gpu");
  const viewer = new Viewer(config);
  await viewer.start(seriesSearch);
}
