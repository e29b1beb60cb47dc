import { init as coreInit, RenderingEngine, Enums } from "@cornerstonejs/core";
import { init as dicomImageLoaderInit } from "@cornerstonejs/dicom-image-loader";
import { init as toolsInit } from "@cornerstonejs/tools";

async function start() {
  await coreInit();
  dicomImageLoaderInit({ maxWebWorkers: 2 });
  toolsInit();
  const engine = new RenderingEngine("lumen");
  console.log(engine, Enums.ViewportType.STACK);
}
start();
