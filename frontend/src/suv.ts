/** SUV body weight for PET (PS3.3 C.8.9.1, C.8.9.2): the factor from activity concentration
 * (Bq/ml) to SUVbw, computed by @cornerstonejs/calculate-suv from each image's tags. Cornerstone's
 * image loader multiplies the pixels by it (the "scalingModule" metadata), so probes and ROI
 * statistics on a PET read SUV. Pure (no Cornerstone import): tested in suv.test.ts. */
import { calculateSUVScalingFactors, type InstanceMetadata } from "@cornerstonejs/calculate-suv";
import { type DicomJson, number, values, text } from "./dicomjson";

const T = {
  Units: "00541001",
  CorrectedImage: "00280051",
  DecayCorrection: "00541102",
  PatientWeight: "00101030",
  PatientSize: "00101020",
  PatientSex: "00100040",
  SeriesDate: "00080021",
  SeriesTime: "00080031",
  AcquisitionDate: "00080022",
  AcquisitionTime: "00080032",
  FrameReferenceTime: "00541300",
  ActualFrameDuration: "00181242",
  RadiopharmaceuticalInformationSequence: "00540016",
  RadiopharmaceuticalStartTime: "00181072",
  RadiopharmaceuticalStartDateTime: "00181078",
  RadionuclideTotalDose: "00181074",
  RadionuclideHalfLife: "00181075",
} as const;

/** The tags calculate-suv needs, from one PET image's DICOM JSON; undefined when SUV cannot be
 * computed (not activity concentration, no weight, no dose or half-life, not decay corrected). */
export function suvInput(instance: DicomJson): InstanceMetadata | undefined {
  const drug = values(instance, T.RadiopharmaceuticalInformationSequence)[0] as DicomJson | undefined;
  const units = text(instance, T.Units);
  const weight = number(instance, T.PatientWeight);
  const dose = number(drug, T.RadionuclideTotalDose);
  const halfLife = number(drug, T.RadionuclideHalfLife);
  const start = text(drug, T.RadiopharmaceuticalStartTime);
  const startDateTime = text(drug, T.RadiopharmaceuticalStartDateTime);
  const corrected = values(instance, T.CorrectedImage).map(String);
  if (!drug || !weight || !dose || !halfLife || !(start || startDateTime)) return undefined;
  if (!["BQML", "CNTS"].includes(units) || !corrected.includes("ATTN") || !corrected.includes("DECY")) return undefined;
  const input: InstanceMetadata = {
    CorrectedImage: corrected,
    Units: units,
    RadionuclideHalfLife: halfLife,
    RadionuclideTotalDose: dose,
    DecayCorrection: text(instance, T.DecayCorrection),
    PatientWeight: weight,
    SeriesDate: text(instance, T.SeriesDate),
    SeriesTime: text(instance, T.SeriesTime),
    AcquisitionDate: text(instance, T.AcquisitionDate),
    AcquisitionTime: text(instance, T.AcquisitionTime),
  };
  if (start) input.RadiopharmaceuticalStartTime = start;
  if (startDateTime) input.RadiopharmaceuticalStartDateTime = startDateTime;
  const frameReference = number(instance, T.FrameReferenceTime);
  const frameDuration = number(instance, T.ActualFrameDuration);
  if (frameReference !== undefined) input.FrameReferenceTime = frameReference;
  if (frameDuration !== undefined) input.ActualFrameDuration = frameDuration;
  const size = number(instance, T.PatientSize);
  if (size) input.PatientSize = size; // (0010,1020), metres, as calculate-suv expects
  const sex = text(instance, T.PatientSex);
  if (sex) input.PatientSex = sex;
  return input;
}

/** SUVbw factors (g/Bq·ml → SUV) of a PET series' images, in the same order; undefined when
 * any image lacks what SUV needs (then the PET stays in Bq/ml and is labelled so). */
export function suvFactors(instances: DicomJson[]): number[] | undefined {
  const inputs = instances.map(suvInput);
  if (inputs.length === 0 || inputs.some((i) => i === undefined)) return undefined;
  try {
    return calculateSUVScalingFactors(inputs as InstanceMetadata[]).map((f) => f.suvbw);
  } catch {
    return undefined; // inconsistent times or units across the series
  }
}
