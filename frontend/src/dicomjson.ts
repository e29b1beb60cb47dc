/** Reading DICOM JSON (PS3.18 F.2): the answers of QIDO-RS and WADO-RS metadata. */

export interface DicomAttribute {
  vr: string;
  Value?: unknown[];
  BulkDataURI?: string;
  InlineBinary?: string;
}
export type DicomJson = Record<string, DicomAttribute>;

export function values(obj: DicomJson | undefined, tag: string): unknown[] {
  return obj?.[tag]?.Value ?? [];
}

/** The first value as text; person names as their alphabetic form ("DOE^JOHN"). */
export function text(obj: DicomJson | undefined, tag: string): string {
  const first = values(obj, tag)[0];
  if (first === undefined || first === null) return "";
  if (typeof first === "object") {
    const name = first as { Alphabetic?: string };
    return name.Alphabetic ?? "";
  }
  return String(first);
}

export function number(obj: DicomJson | undefined, tag: string): number | undefined {
  const first = values(obj, tag)[0];
  const n = typeof first === "number" ? first : parseFloat(String(first));
  return Number.isFinite(n) ? n : undefined;
}

export function numbers(obj: DicomJson | undefined, tag: string): number[] {
  return values(obj, tag)
    .map((v) => (typeof v === "number" ? v : parseFloat(String(v))))
    .filter((n) => Number.isFinite(n));
}

/** "DOE^JOHN^^DR" → "DOE, JOHN DR" for display (still set as textContent, never as HTML). */
export function displayName(name: string): string {
  const [family = "", given = "", middle = "", prefix = "", suffix = ""] = name.split("^");
  const rest = [prefix, given, middle, suffix].filter(Boolean).join(" ");
  return family && rest ? `${family}, ${rest}` : family || rest;
}

/** "20240131" → "2024-01-31"; anything else unchanged. */
export function displayDate(da: string): string {
  return /^\d{8}$/.test(da) ? `${da.slice(0, 4)}-${da.slice(4, 6)}-${da.slice(6, 8)}` : da;
}

export const Tag = {
  PatientName: "00100010",
  PatientID: "00100020",
  PatientBirthDate: "00100030",
  PatientSex: "00100040",
  StudyDate: "00080020",
  StudyDescription: "00081030",
  StudyInstanceUID: "0020000D",
  SeriesInstanceUID: "0020000E",
  SOPInstanceUID: "00080018",
  SOPClassUID: "00080016",
  Modality: "00080060",
  SeriesDescription: "0008103E",
  SeriesNumber: "00200011",
  InstanceNumber: "00200013",
  BodyPartExamined: "00180015",
  NumberOfSeriesRelatedInstances: "00201209",
  NumberOfFrames: "00280008",
  ImagePositionPatient: "00200032",
  ImageOrientationPatient: "00200037",
  SliceThickness: "00180050",
  SliceLocation: "00201041",
  PixelSpacing: "00280030",
  WindowCenter: "00281050",
  WindowWidth: "00281051",
  Rows: "00280010",
  Columns: "00280011",
  AcquisitionTime: "00080032",
  FrameOfReferenceUID: "00200052",
} as const;
