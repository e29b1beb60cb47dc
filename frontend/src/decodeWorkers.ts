/** The image loader's decode workers (@cornerstonejs/dicom-image-loader's own worker module),
 * started by the page's entry: their script (0.2 MB) loads and compiles while the viewer's code
 * does, instead of after it, so the first frame does not wait for them. */

/** One per two cores, at least one (the other cores parse, draw and serve). */
export function decodeWorkerCount(): number {
  return Math.max(1, Math.min(4, Math.floor((navigator.hardwareConcurrency || 2) / 2)));
}

export function startDecodeWorker(): Worker {
  return new Worker(new URL("../node_modules/@cornerstonejs/dicom-image-loader/dist/esm/decodeImageFrameWorker.js", import.meta.url), { type: "module" });
}

export function startDecodeWorkers(): Worker[] {
  return Array.from({ length: decodeWorkerCount() }, startDecodeWorker);
}
