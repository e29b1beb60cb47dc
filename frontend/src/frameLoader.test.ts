import { describe, expect, it } from "vitest";
import { singlePart } from "./frameLoader";

const encode = (text: string) => new TextEncoder().encode(text);

function answer(boundary: string, partHead: string, data: Uint8Array): ArrayBuffer {
  const head = encode(`--${boundary}\r\n${partHead}\r\n\r\n`);
  const tail = encode(`\r\n--${boundary}--\r\n`);
  const body = new Uint8Array(head.length + data.length + tail.length);
  body.set(head);
  body.set(data, head.length);
  body.set(tail, head.length + data.length);
  return body.buffer;
}

describe("singlePart", () => {
  const type = 'multipart/related; type="application/octet-stream"; boundary=lumen-abc';

  it("gives the frame bytes exactly, even when they contain the boundary's dashes and CRLFs", () => {
    const data = new Uint8Array(70_000).map((_, i) => (i % 7 === 0 ? 0x2d : i % 11 === 0 ? 0x0d : i & 0xff));
    const part = singlePart(type, answer("lumen-abc", "Content-Type: application/octet-stream; transfer-syntax=1.2.840.10008.1.2.1", data));
    expect(part?.transferSyntax).toBe("1.2.840.10008.1.2.1");
    expect(new Uint8Array(part!.data)).toEqual(data);
  });

  it("reads a quoted boundary and a compressed part's syntax", () => {
    const data = encode("jpeg-ls bytes");
    const part = singlePart('multipart/related; type="image/jls"; boundary="b1"', answer("b1", "Content-Type: image/jls; transfer-syntax=1.2.840.10008.1.2.4.80", data));
    expect(part?.transferSyntax).toBe("1.2.840.10008.1.2.4.80");
    expect(new Uint8Array(part!.data)).toEqual(data);
  });

  it("leaves answers it cannot read to the library: no syntax, another boundary, not multipart", () => {
    expect(singlePart(type, answer("lumen-abc", "Content-Type: application/octet-stream", encode("x")))).toBeUndefined();
    expect(singlePart(type, answer("other", "Content-Type: application/octet-stream; transfer-syntax=1.2.840.10008.1.2.1", encode("x")))).toBeUndefined();
    expect(singlePart("application/octet-stream", encode("raw").buffer)).toBeUndefined();
  });
});
