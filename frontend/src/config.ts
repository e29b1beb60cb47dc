/** The configuration the page injects with json_script (frontend/viewer_views.py). */
export interface StudyConfig {
  studyInstanceUID: string;
  annotationsUrl: string;
  keyImagesUrl: string;
}

export interface ViewerConfig {
  dicomwebRoot: string;
  studies: StudyConfig[];
  user: { username: string; name: string };
  csrfToken: string;
  studyUrl: string;
}

export function readConfig(doc: Document = document): ViewerConfig {
  const node = doc.getElementById("viewer-config");
  if (!node?.textContent) throw new Error("viewer-config is missing");
  return JSON.parse(node.textContent) as ViewerConfig;
}

/** The absolute DICOMweb root, without a trailing slash (image ids and requests start with it). */
export function dicomwebRoot(config: ViewerConfig, base: string = window.location.href): string {
  return new URL(config.dicomwebRoot, base).href.replace(/\/$/, "");
}
