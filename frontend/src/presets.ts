/** Window presets: the named CT windows (number keys 1–6) and the default by body part. */

export interface WindowPreset {
  key: string;
  name: string;
  center: number;
  width: number;
}

// The same windows as the server's rendering presets (studies/rendering.py), so the viewer
// and the quick view agree.
export const CT_PRESETS: WindowPreset[] = [
  { key: "1", name: "Soft tissue", center: 40, width: 400 },
  { key: "2", name: "Lung", center: -600, width: 1500 },
  { key: "3", name: "Bone", center: 400, width: 1800 },
  { key: "4", name: "Brain", center: 40, width: 80 },
  { key: "5", name: "Liver", center: 60, width: 160 },
  { key: "6", name: "Mediastinum", center: 50, width: 350 },
  { key: "7", name: "Subdural", center: 75, width: 215 },
  { key: "8", name: "Stroke", center: 40, width: 40 },
];

export function presetByName(name: string): WindowPreset | undefined {
  return CT_PRESETS.find((p) => p.name === name);
}

// Body Part Examined (PS3.16 CID 4031 code meanings, upper case as modalities send them) and
// words of the series description, to the preset a reader starts with.
const BODY_PART_PRESET: Array<[RegExp, string]> = [
  [/\b(HEAD|BRAIN|SKULL|NEURO|CEREBR)/, "Brain"],
  [/\b(CHEST|LUNG|THORAX|PULMO)/, "Lung"],
  [/\b(LIVER|HEPAT)/, "Liver"],
  [/\b(SPINE|[CTL]SPINE|BONE|PELVIS BONE|EXTREMITY|KNEE|HIP|SHOULDER|WRIST|ANKLE|HAND|FOOT)/, "Bone"],
  [/\b(ABDOMEN|ABD|PELVIS|KIDNEY|RENAL)/, "Soft tissue"],
];

/** The CT preset for a series: from BodyPartExamined, else its description; undefined keeps
 * the image's own window (an MR, PET or a CT whose body part we cannot tell). */
export function presetForSeries(modality: string, bodyPart: string, description: string): WindowPreset | undefined {
  if (modality !== "CT") return undefined;
  for (const source of [bodyPart, description]) {
    const words = (source || "").toUpperCase();
    for (const [pattern, name] of BODY_PART_PRESET) {
      if (pattern.test(words)) return presetByName(name);
    }
  }
  return undefined;
}
