/** Entry point of the viewer bundle (frontend/static/frontend/viewer/viewer.js). */
import { init as coreInit } from "@cornerstonejs/core";
import { init as dicomImageLoaderInit } from "@cornerstonejs/dicom-image-loader";
import { Viewer } from "./app";
import { readConfig } from "./config";
import { registerFrameLoader } from "./frameLoader";
import { searchSeries } from "./loader";
import { preferCpuRendering, setStackCpuRendering, webglRenderer } from "./renderBackend";

async function main(): Promise<void> {
  const config = readConfig();
  // The series list goes out first: it travels while Cornerstone and the tools initialize.
  const root = new URL(config.dicomwebRoot, window.location.href).href.replace(/\/$/, "");
  const seriesSearch = config.studies.map((s) => searchSeries(root, s.studyInstanceUID));
  seriesSearch.forEach((p) => p.catch(() => undefined)); // reported by start(), not as unhandled
  const renderer = webglRenderer();
  const cpu = preferCpuRendering(window.location.search, renderer);
  await coreInit();
  setStackCpuRendering(cpu);
  document.getElementById("viewer")?.setAttribute("data-render", cpu ? "cpu" : "gpu");
  // Frames are decoded in web workers (one per two cores, at least one).
  dicomImageLoaderInit({ maxWebWorkers: Math.max(1, Math.min(4, Math.floor((navigator.hardwareConcurrency || 2) / 2))) });
  registerFrameLoader();
  const viewer = new Viewer(config);
  await viewer.start(seriesSearch);
}

main().catch((error) => {
  const status = document.getElementById("status");
  if (status) {
    status.textContent = `The viewer could not start: ${error}`;
    status.classList.add("error");
  }
  document.getElementById("viewer")?.setAttribute("data-state", "error");
  console.error(error);
});
