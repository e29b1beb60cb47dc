/** Export: the viewport as a PNG, and a cine loop of a stack as a WebM video (the viewport's
 * canvas captured with canvas.captureStream while every image is shown once, MediaRecorder). */

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

export async function exportPng(canvas: HTMLCanvasElement, filename: string): Promise<Blob> {
  const blob = await new Promise<Blob | null>((resolve) => canvas.toBlob(resolve, "image/png"));
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
 * drawn). The stream is captured at the same rate, so the video plays at the cine speed.
 */
export async function recordCine(canvas: HTMLCanvasElement, count: number, fps: number, show: (index: number) => Promise<void>, filename: string): Promise<Blob> {
  const type = webmType();
  if (!type) throw new Error("this browser cannot record WebM video");
  const stream = canvas.captureStream(fps);
  const recorder = new MediaRecorder(stream, { mimeType: type, videoBitsPerSecond: 8_000_000 });
  const chunks: Blob[] = [];
  recorder.ondataavailable = (e) => e.data.size > 0 && chunks.push(e.data);
  const stopped = new Promise<void>((resolve) => (recorder.onstop = () => resolve()));
  await show(0);
  recorder.start(250);
  const begun = performance.now();
  const frame = 1000 / fps;
  for (let i = 0; i < count; i += 1) {
    const started = performance.now();
    await show(i);
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
