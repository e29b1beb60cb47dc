/** Cornerstone image ids for DICOMweb frames ("wadors:<root>/studies/…/frames/<n>") and back. */

export interface FrameRef {
  studyInstanceUID: string;
  seriesInstanceUID: string;
  sopInstanceUID: string;
  frame: number;
}

export function frameImageId(root: string, ref: FrameRef): string {
  return `wadors:${root}/studies/${ref.studyInstanceUID}/series/${ref.seriesInstanceUID}/instances/${ref.sopInstanceUID}/frames/${ref.frame}`;
}

const FRAME_URL = /\/studies\/([0-9.]+)\/series\/([0-9.]+)\/instances\/([0-9.]+)\/frames\/(\d+)$/;

export function parseImageId(imageId: string): FrameRef | undefined {
  const match = FRAME_URL.exec(imageId);
  if (!match) return undefined;
  return { studyInstanceUID: match[1], seriesInstanceUID: match[2], sopInstanceUID: match[3], frame: Number(match[4]) };
}
