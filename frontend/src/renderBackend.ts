/** GPU or CPU rendering of stacks. Cornerstone draws through WebGL; on a machine without a
 * GPU the browser emulates WebGL in software (SwiftShader, llvmpipe), several times slower
 * than Cornerstone's own CPU path for a stack. `?render=gpu|cpu` decides explicitly.
 *
 * Only stack viewports go to the CPU: volume viewports (MPR, fusion) need WebGL, and
 * Cornerstone's switch is global, so it is turned on just while a stack viewport is created,
 * and that viewport keeps telling the rendering engine it draws itself. */
import { type RenderingEngine, type Types, setUseCPURendering } from "@cornerstonejs/core";

let stacksOnCpu = false;

export function setStackCpuRendering(on: boolean): void {
  stacksOnCpu = on;
}

export function stackCpuRendering(): boolean {
  return stacksOnCpu;
}

/** engine.enableElement for a stack viewport, on the CPU path when chosen. */
export function enableStackElement(engine: RenderingEngine, input: Types.PublicViewportInput): void {
  if (!stacksOnCpu) {
    engine.enableElement(input);
    return;
  }
  setUseCPURendering(true, false);
  try {
    engine.enableElement(input);
  } finally {
    setUseCPURendering(false, false);
  }
  const viewport = engine.getViewport(input.viewportId) as unknown as { getUseCustomRenderingPipeline: () => boolean };
  viewport.getUseCustomRenderingPipeline = () => true;
}

const SOFTWARE_RENDERERS = /swiftshader|llvmpipe|softpipe|software/i;

export function webglRenderer(): string | undefined {
  try {
    const gl = document.createElement("canvas").getContext("webgl2") ?? document.createElement("canvas").getContext("webgl");
    if (!gl) return undefined;
    const info = gl.getExtension("WEBGL_debug_renderer_info");
    const name = String(gl.getParameter(info ? info.UNMASKED_RENDERER_WEBGL : gl.RENDERER));
    gl.getExtension("WEBGL_lose_context")?.loseContext();
    return name;
  } catch {
    return undefined;
  }
}

export function preferCpuRendering(search: string, renderer: string | undefined): boolean {
  const asked = new URLSearchParams(search).get("render");
  if (asked === "cpu") return true;
  if (asked === "gpu") return false;
  return renderer === undefined || SOFTWARE_RENDERERS.test(renderer);
}
