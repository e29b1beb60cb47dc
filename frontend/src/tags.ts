/** The tag browser's rows: one per attribute of an instance's DICOM JSON, items of sequences
 * nested under them, and a search over tag, keyword and value. Values stay plain text; the
 * page puts them in with textContent. */
import type { DicomJson } from "./dicomjson";

export interface DictionaryEntry {
  name: string;
}
export type Dictionary = (tag: string) => DictionaryEntry | undefined;

export interface TagRow {
  tag: string; // "(0010,0010)"
  name: string;
  vr: string;
  value: string;
  depth: number;
}

const MAX_VALUE_LENGTH = 400;

export function formatTag(tag: string): string {
  const t = tag.toUpperCase();
  return `(${t.slice(0, 4)},${t.slice(4, 8)})`;
}

function formatValue(attribute: DicomJson[string]): string {
  if (attribute.BulkDataURI) return "(bulk data)";
  if (attribute.InlineBinary) return `(binary, ${Math.floor((attribute.InlineBinary.length * 3) / 4)} bytes)`;
  const values = attribute.Value ?? [];
  if (attribute.vr === "SQ") return `${values.length} item${values.length === 1 ? "" : "s"}`;
  const text = values
    .map((v) => (v !== null && typeof v === "object" ? ((v as { Alphabetic?: string }).Alphabetic ?? JSON.stringify(v)) : String(v)))
    .join("\\");
  return text.length > MAX_VALUE_LENGTH ? `${text.slice(0, MAX_VALUE_LENGTH)}…` : text;
}

export function tagRows(json: DicomJson, dictionary: Dictionary, depth = 0): TagRow[] {
  const rows: TagRow[] = [];
  for (const tag of Object.keys(json).sort()) {
    const attribute = json[tag];
    const tagText = formatTag(tag);
    rows.push({ tag: tagText, name: dictionary(tagText)?.name ?? "", vr: attribute.vr, value: formatValue(attribute), depth });
    if (attribute.vr === "SQ") {
      for (const item of (attribute.Value ?? []) as DicomJson[]) rows.push(...tagRows(item, dictionary, depth + 1));
    }
  }
  return rows;
}

/** Rows matching every word of the query (in tag, name or value), case-insensitive. */
export function filterRows(rows: TagRow[], query: string): TagRow[] {
  const words = query.toLowerCase().split(/\s+/).filter(Boolean);
  if (words.length === 0) return rows;
  return rows.filter((row) => {
    const haystack = `${row.tag} ${row.tag.replace(/[(),]/g, "")} ${row.name} ${row.value}`.toLowerCase();
    return words.every((w) => haystack.includes(w));
  });
}
