/** Entry point of the viewer bundle (frontend/static/frontend/viewer/viewer.js), small on purpose:
 * it asks the archive for the study's series and the hung series' metadata at once, and those
 * answers travel while the viewer's code (Cornerstone and vtk.js, a chunk of megabytes the browser
 * parses and compiles for a few hundred milliseconds) loads. */
import { dicomwebRoot, readConfig } from "./config";
import { startDecodeWorkers } from "./decodeWorkers";
import { searchSeries, seriesMetadata } from "./dicomweb";
import { type SeriesSummary, hangStudies } from "./hangingProtocol";

/** The metadata of the series the hanging protocol will show, asked for as soon as it is known
 * (loader.ts's loadSeries then finds the answer on its way). */
function askHungMetadata(root: string, seriesSearch: Promise<SeriesSummary[]>[]): void {
  Promise.all(seriesSearch).then((perStudy) => {
    const byUid = new Map(perStudy.flat().map((s) => [s.seriesInstanceUID, s]));
    for (const assignment of hangStudies(perStudy).viewports) {
      const summary = byUid.get(assignment.seriesInstanceUID);
      if (summary) seriesMetadata(root, summary).catch(() => undefined); // reported when the viewer shows it
    }
  }, () => undefined);
}

async function main(): Promise<void> {
  const config = readConfig();
  const root = dicomwebRoot(config);
  const seriesSearch = config.studies.map((s) => searchSeries(root, s.studyInstanceUID));
  seriesSearch.forEach((p) => p.catch(() => undefined)); // reported by the viewer's start, not as unhandled
  askHungMetadata(root, seriesSearch);
  const decodeWorkers = startDecodeWorkers();
  const { startViewer } = await import("./startViewer");
  await startViewer(config, seriesSearch, decodeWorkers);
}

main().catch((error) => {
  const status = document.getElementById("status");
  if (status) {
    status.textContent = `The viewer could not start: ${error}`;
    status.classList.add("error");
  }
  document.getElementById("viewer")?.setAttribute("data-state", "error");
  console.error(error);
});
