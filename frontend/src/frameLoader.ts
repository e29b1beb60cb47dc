/** WADO-RS frames for the stack viewports without scanning each 0.5 MB body for its boundary.
 *
 * The library's "wadors" loader finds the end of the single part by searching the whole body byte
 * by byte for the boundary (findIndexOfString): the largest piece of main-thread script per frame
 * in a CPU profile of a 140-slice load. A one-frame answer's part ends just before the closing
 * delimiter, so it is found from the end instead. Decoding is the library's (createImage, in its
 * workers), as are volume loads (MPR, fusion), which pass their own buffers and options. */
import { Enums, type Types, imageLoader } from "@cornerstonejs/core";
import { createImage, wadors } from "@cornerstonejs/dicom-image-loader/imageLoader";

const ACCEPT = "multipart/related; type=application/octet-stream; transfer-syntax=*";

export interface FramePart {
  /** A view into the answer's buffer (not a copy: the decoder aligns what it needs aligned). */
  data: Uint8Array;
  transferSyntax: string;
}

/** The part of a one-part multipart/related answer (RFC 2046 5.1.1), or undefined if it is not
 * shaped so or names no transfer syntax (the library's loader then reads it). */
export function singlePart(contentType: string, body: ArrayBuffer): FramePart | undefined {
  const boundary = /boundary="?([^";]+)"?/i.exec(contentType)?.[1];
  if (!boundary) return undefined;
  const bytes = new Uint8Array(body);
  const head = latin1(bytes, 0, Math.min(bytes.length, 1024));
  const opening = `--${boundary}\r\n`;
  const headEnd = head.indexOf("\r\n\r\n");
  if (!head.startsWith(opening) || headEnd < 0) return undefined;
  const transferSyntax = /transfer-syntax=([0-9.]+)/i.exec(head.slice(0, headEnd))?.[1];
  const tailStart = Math.max(headEnd, bytes.length - 256 - boundary.length);
  const tail = latin1(bytes, tailStart, bytes.length);
  const closing = tail.lastIndexOf(`\r\n--${boundary}--`);
  if (!transferSyntax || closing < 0) return undefined;
  // One part: an image id names one frame, so its request asks for one.
  const start = headEnd + 4;
  const end = tailStart + closing;
  if (end < start) return undefined;
  return { data: new Uint8Array(body, start, end - start), transferSyntax };
}

function latin1(bytes: Uint8Array, from: number, to: number): string {
  let text = "";
  for (let i = from; i < to; i += 8192) text += String.fromCharCode(...bytes.subarray(i, Math.min(to, i + 8192)));
  return text;
}

type LoaderOptions = Record<string, unknown>;

/** Options a volume or progressive load brings: those keep the library's loader. */
function plainStackLoad(options: LoaderOptions | undefined): boolean {
  return !options || !["targetBuffer", "retrieveOptions", "skipCreateImage", "streamingData", "loader"].some((key) => options[key] !== undefined);
}

async function loadFrame(imageId: string, options: LoaderOptions): Promise<Types.IImage> {
  const started = Date.now();
  const url = imageId.substring("wadors:".length);
  const response = await fetch(url, { headers: { Accept: ACCEPT }, credentials: "same-origin" });
  if (!response.ok) throw new Error(`${url}: ${response.status}`);
  const body = await response.arrayBuffer();
  const part = singlePart(response.headers.get("Content-Type") ?? "", body);
  if (!part) return wadors.loadImage(imageId, options as never).promise as Promise<Types.IImage>;
  const image = (await createImage(imageId, part.data, part.transferSyntax, { ...options, decodeLevel: 0 } as never)) as Types.IImage;
  Object.assign(image, {
    loadTimeInMS: Date.now() - started,
    transferSyntaxUID: part.transferSyntax,
    imageQualityStatus: Enums.ImageQualityStatus.FULL_RESOLUTION,
  });
  return image;
}

/** Replace the library's "wadors" loader (call after its init, which registers it). */
export function registerFrameLoader(): void {
  imageLoader.registerImageLoader("wadors", ((imageId: string, options?: LoaderOptions) =>
    plainStackLoad(options) ? { promise: loadFrame(imageId, options ?? {}), cancelFn: undefined } : wadors.loadImage(imageId, options as never)) as never);
}
