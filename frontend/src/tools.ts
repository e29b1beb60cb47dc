/** The mouse tools: one tool group for every viewport. Left button runs the chosen tool;
 * middle pans, right zooms, the wheel scrolls the stack, whatever is chosen. */
import {
  AngleTool,
  ArrowAnnotateTool,
  EllipticalROITool,
  Enums as ToolEnums,
  LengthTool,
  PanTool,
  ProbeTool,
  RectangleROITool,
  StackScrollTool,
  ToolGroupManager,
  WindowLevelTool,
  ZoomTool,
  addTool,
  init as toolsInit,
  type Types as ToolTypes,
} from "@cornerstonejs/tools";

const { MouseBindings } = ToolEnums;
export const TOOL_GROUP_ID = "lumen-stack";

// Toolbar names (data-tool) to Cornerstone tool names.
export const TOOLS: Record<string, string> = {
  WindowLevel: WindowLevelTool.toolName,
  Pan: PanTool.toolName,
  Zoom: ZoomTool.toolName,
  Length: LengthTool.toolName,
  Angle: AngleTool.toolName,
  EllipticalROI: EllipticalROITool.toolName,
  RectangleROI: RectangleROITool.toolName,
  Probe: ProbeTool.toolName,
  ArrowAnnotate: ArrowAnnotateTool.toolName,
};

const ANNOTATION_TOOLS = [LengthTool, AngleTool, EllipticalROITool, RectangleROITool, ProbeTool, ArrowAnnotateTool];

let group: ToolTypes.IToolGroup | undefined;
let primary = WindowLevelTool.toolName;

export function setUpTools(askText: (done: (text: string) => void) => void): ToolTypes.IToolGroup {
  toolsInit();
  for (const tool of [WindowLevelTool, PanTool, ZoomTool, StackScrollTool, ...ANNOTATION_TOOLS]) addTool(tool);
  group = ToolGroupManager.createToolGroup(TOOL_GROUP_ID)!;
  group.addTool(WindowLevelTool.toolName);
  group.addTool(PanTool.toolName);
  group.addTool(ZoomTool.toolName);
  group.addTool(StackScrollTool.toolName);
  for (const tool of ANNOTATION_TOOLS) {
    group.addTool(
      tool.toolName,
      tool === ArrowAnnotateTool
        ? { getTextCallback: askText, changeTextCallback: (_data: unknown, _event: unknown, done: (t: string) => void) => askText(done) }
        : {},
    );
    group.setToolPassive(tool.toolName); // drawn and editable, whichever tool is on the left button
  }
  group.setToolActive(StackScrollTool.toolName, { bindings: [{ mouseButton: MouseBindings.Wheel }] });
  group.setToolActive(PanTool.toolName, { bindings: [{ mouseButton: MouseBindings.Auxiliary }] });
  group.setToolActive(ZoomTool.toolName, { bindings: [{ mouseButton: MouseBindings.Secondary }] });
  group.setToolActive(WindowLevelTool.toolName, { bindings: [{ mouseButton: MouseBindings.Primary }] });
  return group;
}

export function setPrimaryTool(toolName: string): void {
  if (!group || toolName === primary) return;
  // Passive drops only the left-button binding: Pan keeps the middle button, Zoom the right.
  group.setToolPassive(primary);
  primary = toolName;
  group.setToolActive(toolName, { bindings: [{ mouseButton: MouseBindings.Primary }] });
}

export function primaryTool(): string {
  return primary;
}
