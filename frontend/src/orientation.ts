/** Orientation markers: which patient direction a screen edge points to (PS3.3 C.7.6.1.1.1:
 * x towards the patient's left, y towards posterior, z towards head). */
import type { Vec3 } from "./stackOrder";

const AXES: Array<[string, string]> = [
  ["L", "R"], // +x, -x
  ["P", "A"], // +y, -y
  ["H", "F"], // +z, -z
];

/** The letters for a direction, strongest component first ("L", "LP", "HFL" never: at most 2). */
export function directionLetters(v: Vec3, threshold = 0.25): string {
  const parts = v
    .map((component, axis) => ({ axis, component, magnitude: Math.abs(component) }))
    .filter((p) => p.magnitude > threshold)
    .sort((a, b) => b.magnitude - a.magnitude)
    .slice(0, 2);
  return parts.map((p) => (p.component > 0 ? AXES[p.axis][0] : AXES[p.axis][1])).join("");
}

export interface Markers {
  top: string;
  bottom: string;
  left: string;
  right: string;
}

/** Markers from the camera: viewUp points to the top of the screen; the screen's right is
 * viewUp × viewPlaneNormal (the normal points from the focal point towards the viewer). */
export function markersFor(viewUp: Vec3, viewPlaneNormal: Vec3): Markers {
  const right: Vec3 = [
    viewUp[1] * viewPlaneNormal[2] - viewUp[2] * viewPlaneNormal[1],
    viewUp[2] * viewPlaneNormal[0] - viewUp[0] * viewPlaneNormal[2],
    viewUp[0] * viewPlaneNormal[1] - viewUp[1] * viewPlaneNormal[0],
  ];
  const neg = (v: Vec3): Vec3 => [-v[0], -v[1], -v[2]];
  return {
    top: directionLetters(viewUp),
    bottom: directionLetters(neg(viewUp)),
    right: directionLetters(right),
    left: directionLetters(neg(right)),
  };
}
