/** Cornerstone, the image loader and the viewer page started: the code main.ts loads on demand. */
import { init as coreInit, getRenderingCapabilities, getWebWorkerManager } from "@cornerstonejs/core";
import { init as dicomImageLoaderInit } from "@cornerstonejs/dicom-image-loader/imageLoader";
import { Viewer } from "./app";
import type { ViewerConfig } from "./config";
import { startDecodeWorker } from "./decodeWorkers";
import { registerFrameLoader } from "./frameLoader";
import type { SeriesSummary } from "./hangingProtocol";
import { preferCpuRendering, setStackCpuRendering } from "./renderBackend";

/** ``seriesSearch``: the QIDO-RS answers main.ts asked for, one per study; ``decodeWorkers``:
 * the decode workers it started. */
export async function startViewer(config: ViewerConfig, seriesSearch: Promise<SeriesSummary[]>[], decodeWorkers: Worker[]): Promise<void> {
  // The image loader's worker pool takes the started workers (a replaced one is started anew);
  // its init then finds the pool registered (and says so in the console) and keeps it.
  const started = [...decodeWorkers];
  getWebWorkerManager().registerWorker("dicomImageLoader", () => started.pop() ?? startDecodeWorker(), { maxWorkerInstances: decodeWorkers.length });
  dicomImageLoaderInit({ maxWebWorkers: decodeWorkers.length });
  registerFrameLoader();
  await coreInit();
  const { webgl, renderer } = getRenderingCapabilities(); // probed by the init (no second WebGL context)
  const cpu = preferCpuRendering(window.location.search, webgl ? renderer : undefined);
  setStackCpuRendering(cpu);
  document.getElementById("viewer")?.setAttribute("data-render", cpu ? "cpu" : "gpu");
  const viewer = new Viewer(config);
  await viewer.start(seriesSearch);
}
