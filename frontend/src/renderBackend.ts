/** GPU or CPU rendering of stacks. Cornerstone draws through WebGL; on a machine without a
 * GPU the browser emulates WebGL in software (SwiftShader, llvmpipe), several times slower
 * than Cornerstone's own CPU path for a stack. `?render=gpu|cpu` decides explicitly.
 *
 * Only stack viewports go to the CPU: volume viewports (MPR, fusion) need WebGL, and
 * Cornerstone's switch is global, so it is turned on just while a stack viewport is created,
 * and that viewport keeps telling the rendering engine it draws itself. */
import { RenderingEngine, type Types, setUseCPURendering } from "@cornerstonejs/core";

let stacksOnCpu = false;

export function setStackCpuRendering(on: boolean): void {
  stacksOnCpu = on;
}

export function stackCpuRendering(): boolean {
  return stacksOnCpu;
}

/** ``make()`` with Cornerstone's CPU switch on when stacks are drawn on the CPU. */
function onStackBackend<T>(make: () => T): T {
  if (!stacksOnCpu) return make();
  setUseCPURendering(true, false);
  try {
    return make();
  } finally {
    setUseCPURendering(false, false);
  }
}

/** The rendering engine. With stacks on the CPU it is made as a CPU engine, which creates its
 * pool of WebGL contexts (seven, ~70 ms under SwiftShader) when the first volume viewport is
 * enabled rather than at once: the first image does not wait for contexts it does not use. */
export function createRenderingEngine(id: string): RenderingEngine {
  return onStackBackend(() => new RenderingEngine(id));
}

/** engine.enableElement for a stack viewport, on the CPU path when chosen. */
export function enableStackElement(engine: RenderingEngine, input: Types.PublicViewportInput): void {
  onStackBackend(() => engine.enableElement(input));
  if (!stacksOnCpu) return;
  const viewport = engine.getViewport(input.viewportId) as unknown as { getUseCustomRenderingPipeline: () => boolean };
  viewport.getUseCustomRenderingPipeline = () => true;
}

const SOFTWARE_RENDERERS = /swiftshader|llvmpipe|softpipe|software/i;

/** ``renderer``: the WebGL renderer's name (Cornerstone's init reads it), undefined without WebGL. */
export function preferCpuRendering(search: string, renderer: string | undefined): boolean {
  const asked = new URLSearchParams(search).get("render");
  if (asked === "cpu") return true;
  if (asked === "gpu") return false;
  return renderer === undefined || SOFTWARE_RENDERERS.test(renderer);
}
