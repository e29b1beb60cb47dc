/** Export: the viewport as a PNG (the image with the measurements, annotations and contours drawn
 * over it as SVG), and a cine loop of a stack as a WebM video (each image composed with its SVG
 * layers on a canvas captured with canvas.captureStream while every image is shown once,
 * MediaRecorder). */

function download(blob: Blob, filename: string): void {
  const url = URL.createObjectURL(blob);
  const link = document.createElement("a");
  link.href = url;
  link.download = filename;
  document.body.append(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
}

/** A file name from what is shown (UIDs only: no patient name in a file name). */
export function exportName(seriesInstanceUID: string | undefined, index: number | undefined, extension: string): string {
  const series = (seriesInstanceUID ?? "viewport").replace(/[^0-9.]/g, "").slice(-24) || "viewport";
  return `lumen-${series}${index !== undefined ? `-${index + 1}` : ""}.${extension}`;
}

/** The canvas Cornerstone draws into (the image; annotation SVG is not part of it). */
export function viewportCanvas(element: HTMLElement): HTMLCanvasElement | undefined {
  return element.querySelector("canvas") ?? undefined;
}

/** The SVG layers drawn over a viewport: Cornerstone's annotation layer (measurements,
 * crosshairs) and the RTSTRUCT contours (segmentation.ts), in the order they are stacked. */
export function overlayLayers(root: HTMLElement): SVGSVGElement[] {
  return [...root.querySelectorAll<SVGSVGElement>("svg.svg-layer, svg.contour-overlay")];
}

interface Box {
  left: number;
  top: number;
  width: number;
  height: number;
}

/** Where an SVG layer lands in the canvas's pixels: its offset from the canvas on the page, at the
 * canvas's own scale (device pixels per CSS pixel). Pure: tested in export.test.ts. */
export function placeOver(canvasBox: Box, canvasPixels: { width: number; height: number }, layerBox: Box): Box {
  const sx = canvasBox.width > 0 ? canvasPixels.width / canvasBox.width : 1;
  const sy = canvasBox.height > 0 ? canvasPixels.height / canvasBox.height : 1;
  return { left: (layerBox.left - canvasBox.left) * sx, top: (layerBox.top - canvasBox.top) * sy, width: layerBox.width * sx, height: layerBox.height * sy };
}

// Presentation the page's stylesheet gives the layers (the text shadow, fonts): an SVG drawn as an
// image sees none of it, so it is copied onto the serialized copy.
const STYLED = ["filter", "font-family", "font-size", "font-weight", "paint-order"];

/** An SVG layer (drawn in CSS pixels over ``box``) as an image of ``pixels`` size, so lines and
 * text are rasterized at the canvas's resolution (serialized: what is drawn, nothing live). */
async function svgImage(svg: SVGSVGElement, box: Box, pixels: Box): Promise<HTMLImageElement> {
  const copy = svg.cloneNode(true) as SVGSVGElement;
  copy.setAttribute("xmlns", "http://www.w3.org/2000/svg");
  copy.setAttribute("viewBox", `0 0 ${box.width} ${box.height}`);
  copy.setAttribute("width", String(pixels.width));
  copy.setAttribute("height", String(pixels.height));
  for (const property of ["position", "width", "height"]) copy.style.removeProperty(property);
  const originals = svg.querySelectorAll<SVGElement>("text");
  copy.querySelectorAll<SVGElement>("text").forEach((node, i) => {
    const computed = getComputedStyle(originals[i]);
    for (const property of STYLED) node.style.setProperty(property, computed.getPropertyValue(property));
  });
  const url = URL.createObjectURL(new Blob([new XMLSerializer().serializeToString(copy)], { type: "image/svg+xml" }));
  try {
    const image = new Image();
    image.src = url;
    await image.decode();
    return image;
  } finally {
    URL.revokeObjectURL(url);
  }
}

/** The canvas with the SVG layers drawn over it at the same device-pixel scale, as on screen. */
export async function composite(canvas: HTMLCanvasElement, layers: SVGSVGElement[]): Promise<HTMLCanvasElement> {
  const out = document.createElement("canvas");
  out.width = canvas.width;
  out.height = canvas.height;
  await drawComposite(out, canvas, layers);
  return out;
}

/** Draw ``canvas`` and its SVG layers onto ``out`` (of the canvas's size). */
async function drawComposite(out: HTMLCanvasElement, canvas: HTMLCanvasElement, layers: SVGSVGElement[]): Promise<void> {
  const context = out.getContext("2d");
  if (!context) throw new Error("no 2D canvas to compose the export on");
  const canvasBox = canvas.getBoundingClientRect();
  // Rasterize every layer first: the frame is then drawn at once, never half composed.
  const drawn: [HTMLImageElement, Box][] = [];
  for (const svg of layers) {
    const box = svg.getBoundingClientRect();
    if (box.width === 0 || box.height === 0 || svg.childElementCount === 0) continue;
    const place = placeOver(canvasBox, canvas, box);
    drawn.push([await svgImage(svg, box, place), place]);
  }
  context.drawImage(canvas, 0, 0);
  for (const [image, place] of drawn) context.drawImage(image, place.left, place.top, place.width, place.height);
}

/** The viewport as a PNG download: the image and the SVG layers over it. */
export async function exportPng(canvas: HTMLCanvasElement, layers: SVGSVGElement[], filename: string): Promise<Blob> {
  const picture = layers.length ? await composite(canvas, layers) : canvas;
  const blob = await new Promise<Blob | null>((resolve) => picture.toBlob(resolve, "image/png"));
  if (!blob) throw new Error("the canvas could not be encoded");
  download(blob, filename);
  return blob;
}

/** The WebM type this browser records, or undefined (then video export is not offered). */
export function webmType(): string | undefined {
  if (typeof MediaRecorder === "undefined") return undefined;
  return ["video/webm;codecs=vp9", "video/webm;codecs=vp8", "video/webm"].find((t) => MediaRecorder.isTypeSupported(t));
}

/**
 * Record ``count`` images at ``fps``: ``show(i)`` puts image i on the canvas (and resolves once
 * drawn); ``layers()`` gives the SVG layers over it then (measurements, contours), drawn into
 * the video as into the PNG. The stream is captured at the same rate, so the video plays at
 * the cine speed.
 */
export async function recordCine(
  canvas: HTMLCanvasElement,
  count: number,
  fps: number,
  show: (index: number) => Promise<void>,
  filename: string,
  layers: () => SVGSVGElement[] = () => [],
): Promise<Blob> {
  const type = webmType();
  if (!type) throw new Error("this browser cannot record WebM video");
  const frames = document.createElement("canvas");
  frames.width = canvas.width;
  frames.height = canvas.height;
  // The annotation layer is redrawn on the animation frame after the image: wait for it.
  const paint = async () => {
    await new Promise((r) => requestAnimationFrame(r));
    await drawComposite(frames, canvas, layers());
  };
  const stream = frames.captureStream(fps);
  const recorder = new MediaRecorder(stream, { mimeType: type, videoBitsPerSecond: 8_000_000 });
  const chunks: Blob[] = [];
  recorder.ondataavailable = (e) => e.data.size > 0 && chunks.push(e.data);
  const stopped = new Promise<void>((resolve) => (recorder.onstop = () => resolve()));
  await show(0);
  await paint();
  recorder.start(250);
  const begun = performance.now();
  const frame = 1000 / fps;
  for (let i = 0; i < count; i += 1) {
    const started = performance.now();
    await show(i);
    await paint();
    const wait = frame - (performance.now() - started);
    if (wait > 0) await new Promise((r) => setTimeout(r, wait));
  }
  // A recorder stopped within its first second may hand out nothing: keep the last image a while.
  const elapsed = performance.now() - begun;
  if (elapsed < 1000) await new Promise((r) => setTimeout(r, 1000 - elapsed));
  recorder.requestData();
  recorder.stop();
  await stopped;
  for (const track of stream.getTracks()) track.stop();
  const blob = new Blob(chunks, { type: "video/webm" });
  download(blob, filename);
  return blob;
}
