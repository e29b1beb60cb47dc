/** The mouse tools: one tool group for every stack viewport (and mpr.ts's for the MPR views,
 * which follows the same choice). Left button runs the chosen tool; middle pans, right zooms,
 * the wheel scrolls the stack, whatever is chosen. */
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

interface Follower {
  group: ToolTypes.IToolGroup;
  toolFor: (name: string) => string; // the group's own tool for the toolbar's choice
  current: string; // on its left button now
}

let primary = WindowLevelTool.toolName;
let askTextCallback: (done: (text: string) => void) => void = () => undefined;
// The tool groups whose left button follows the toolbar: the stacks', and MPR's once made.
const followers: Follower[] = [];

export function setUpTools(askText: (done: (text: string) => void) => void): ToolTypes.IToolGroup {
  toolsInit();
  askTextCallback = askText;
  for (const tool of [WindowLevelTool, PanTool, ZoomTool, StackScrollTool, ...ANNOTATION_TOOLS]) addTool(tool);
  const group = ToolGroupManager.createToolGroup(TOOL_GROUP_ID)!;
  group.addTool(WindowLevelTool.toolName);
  group.addTool(PanTool.toolName);
  group.addTool(ZoomTool.toolName);
  group.addTool(StackScrollTool.toolName);
  addAnnotationTools(group);
  group.setToolActive(StackScrollTool.toolName, { bindings: [{ mouseButton: MouseBindings.Wheel }] });
  group.setToolActive(PanTool.toolName, { bindings: [{ mouseButton: MouseBindings.Auxiliary }] });
  group.setToolActive(ZoomTool.toolName, { bindings: [{ mouseButton: MouseBindings.Secondary }] });
  group.setToolActive(primary, { bindings: [{ mouseButton: MouseBindings.Primary }] });
  followers.push({ group, toolFor: (name) => name, current: primary });
  return group;
}

/** The measurement and annotation tools in ``toolGroup``, drawn and editable whichever tool is
 * on the left button (the arrow asks its text through the page's dialog). */
export function addAnnotationTools(toolGroup: ToolTypes.IToolGroup): void {
  for (const tool of ANNOTATION_TOOLS) {
    toolGroup.addTool(
      tool.toolName,
      tool === ArrowAnnotateTool
        ? {
            getTextCallback: (done: (t: string) => void) => askTextCallback(done),
            changeTextCallback: (_data: unknown, _event: unknown, done: (t: string) => void) => askTextCallback(done),
          }
        : {},
    );
    toolGroup.setToolPassive(tool.toolName);
  }
}

/** Let ``toolGroup``'s left button follow the toolbar's choice, as ``toolFor`` names it there
 * (MPR keeps its crosshairs where stacks have the window tool). */
export function followPrimaryTool(toolGroup: ToolTypes.IToolGroup, toolFor: (name: string) => string, initial: string): void {
  const follower = { group: toolGroup, toolFor, current: initial };
  followers.push(follower);
  switchPrimary(follower, toolFor(primary));
}

function switchPrimary(follower: Follower, toolName: string): void {
  if (toolName === follower.current) return;
  // Passive drops only the left-button binding: Pan keeps the middle button, Zoom the right.
  follower.group.setToolPassive(follower.current);
  follower.current = toolName;
  follower.group.setToolActive(toolName, { bindings: [{ mouseButton: MouseBindings.Primary }] });
}

export function setPrimaryTool(toolName: string): void {
  if (toolName === primary) return;
  primary = toolName;
  for (const follower of followers) switchPrimary(follower, follower.toolFor(toolName));
}

export function primaryTool(): string {
  return primary;
}
