import { describe, expect, it } from "vitest";
import { preferCpuRendering } from "./renderBackend";

describe("render backend", () => {
  it("renders on the CPU when WebGL is emulated in software or missing", () => {
    expect(preferCpuRendering("", "ANGLE (Google, Vulkan 1.3.0 (SwiftShader Device (Subzero)), SwiftShader driver)")).toBe(true);
    expect(preferCpuRendering("", "llvmpipe (LLVM 15.0.6, 256 bits)")).toBe(true);
    expect(preferCpuRendering("", undefined)).toBe(true);
  });

  it("uses the GPU when there is one, and follows ?render=", () => {
    expect(preferCpuRendering("", "ANGLE (NVIDIA, NVIDIA GeForce RTX 3060)")).toBe(false);
    expect(preferCpuRendering("?render=cpu", "ANGLE (NVIDIA, NVIDIA GeForce RTX 3060)")).toBe(true);
    expect(preferCpuRendering("?render=gpu", "SwiftShader")).toBe(false);
  });
});
