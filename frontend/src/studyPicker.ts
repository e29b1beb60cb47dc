/** The study picker: the patient's other studies (QIDO-RS /studies?PatientID=), up to three of
 * them chosen to read beside the open one (the page's ?compare= list). No Cornerstone import:
 * the pure parts are tested in studyPicker.test.ts. */
import { type DicomJson, Tag, displayDate, text, values } from "./dicomjson";

export const MAX_COMPARED = 3; // four studies side by side

export interface StudyRow {
  studyInstanceUID: string;
  date: string;
  description: string;
  modalities: string;
}

export function studyRows(json: DicomJson[]): StudyRow[] {
  return json
    .map((row) => ({
      studyInstanceUID: text(row, Tag.StudyInstanceUID),
      date: text(row, Tag.StudyDate),
      description: text(row, Tag.StudyDescription),
      modalities: values(row, "00080061").map(String).join(", "),
    }))
    .filter((row) => row.studyInstanceUID)
    .sort((a, b) => b.date.localeCompare(a.date)); // newest first
}

/** The viewer URL that opens ``main`` with ``chosen`` beside it (at most three, main left out). */
export function compareUrl(viewerPath: string, main: string, chosen: string[]): string {
  const others = [...new Set(chosen)].filter((uid) => uid && uid !== main).slice(0, MAX_COMPARED);
  return others.length ? `${viewerPath}?compare=${others.map(encodeURIComponent).join(",")}` : viewerPath;
}

export async function patientStudies(root: string, patientId: string): Promise<StudyRow[]> {
  const url = `${root}/studies?PatientID=${encodeURIComponent(patientId)}&includefield=00081030&includefield=00080061`;
  const response = await fetch(url, { headers: { Accept: "application/dicom+json" }, credentials: "same-origin" });
  if (response.status === 204) return [];
  if (!response.ok) throw new Error(`${url}: ${response.status}`);
  return studyRows((await response.json()) as DicomJson[]);
}

/** Fill the picker's list: one checkbox per study (the open ones ticked, the main one fixed). */
export function renderPicker(list: HTMLElement, rows: StudyRow[], main: string, open: string[]): void {
  const items = rows.map((row) => {
    const item = document.createElement("li");
    const label = document.createElement("label");
    const box = document.createElement("input");
    box.type = "checkbox";
    box.value = row.studyInstanceUID;
    box.checked = open.includes(row.studyInstanceUID);
    box.disabled = row.studyInstanceUID === main;
    const what = document.createElement("span");
    what.textContent = [displayDate(row.date), row.modalities, row.description || "(no description)"].filter(Boolean).join(" · ");
    label.append(box, what);
    item.append(label);
    return item;
  });
  list.replaceChildren(...items);
  const limit = () => {
    const boxes = [...list.querySelectorAll<HTMLInputElement>("input:not(:disabled)")];
    const full = boxes.filter((b) => b.checked).length >= MAX_COMPARED;
    for (const b of boxes) if (!b.checked) b.disabled = full;
  };
  list.addEventListener("change", limit);
  limit();
}
