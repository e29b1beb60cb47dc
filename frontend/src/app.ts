/** The viewer page: series panel, layout grid, toolbar, keyboard, stack bar, measurements
 * saved on the server, key images and the tag browser. */
import { Enums, RenderingEngine, eventTarget, getRenderingEngine, utilities as csUtilities } from "@cornerstonejs/core";
import { annotation as toolsAnnotation, Enums as ToolEnums, utilities as toolsUtilities } from "@cornerstonejs/tools";
import dcmjs from "dcmjs";
import { AnnotationStore, KeyImageStore, type KeyImage } from "./annotationsClient";
import { type StudyConfig, type ViewerConfig, dicomwebRoot } from "./config";
import { Tag, displayDate, displayName, text } from "./dicomjson";
import { LAYOUTS, hang, hangStudies, isViewable, layoutName, type SeriesSummary } from "./hangingProtocol";
import { frameImageId, parseImageId } from "./imageIds";
import { searchSeries } from "./dicomweb";
import { LoadedSeries, loadSeries } from "./loader";
import { type CornerstoneAnnotation, fingerprint, fromSaved, isMeasurement, isReformat, toSaved } from "./measurements";
import { MPR_TOOL_GROUP_ID } from "./mpr";
import { CT_PRESETS } from "./presets";
import { registerSuv } from "./fusion";
import { ReadingModes, type ShownImage } from "./readingModes";
import { createRenderingEngine } from "./renderBackend";
import { filterRows, tagRows, type TagRow } from "./tags";
import { TOOLS, TOOL_GROUP_ID, setPrimaryTool, setUpTools } from "./tools";
import { ViewportSlot } from "./viewportSlot";
import { type WindowTarget, presetOf, windowReadout } from "./windowing";

const ENGINE_ID = "lumen";

function $(id: string): HTMLElement {
  const node = document.getElementById(id);
  if (!node) throw new Error(`#${id} is missing`);
  return node;
}

export class Viewer {
  private readonly root: string; // absolute DICOMweb root (the loader's XHRs and image ids)
  private readonly engine: RenderingEngine;
  private readonly grid = $("viewport-grid");
  private slots: ViewportSlot[] = [];
  private active?: ViewportSlot;
  private seriesByUid = new Map<string, SeriesSummary>();
  private readonly annotationStores = new Map<string, AnnotationStore>();
  private readonly keyImageStores = new Map<string, KeyImageStore>();
  private readonly keyImages = new Map<string, KeyImage>(); // image id → saved key image
  // Saved measurement's uid → its study (where to delete it) and what was last saved of it.
  private readonly savedMeasurements = new Map<string, { study: string; print: string }>();
  // Saved measurements of reformatted MPR views, kept out of Cornerstone's state until MPR first
  // opens: a stack viewport still waiting for its first image failed on them (no camera yet).
  private readonly reformats: CornerstoneAnnotation[] = [];
  private restoring = false;
  private cineSlot?: ViewportSlot;
  private modes?: ReadingModes; // MPR, fusion, compare sync, segmentations, export (readingModes.ts)

  constructor(private readonly config: ViewerConfig) {
    this.root = dicomwebRoot(config);
    this.engine = createRenderingEngine(ENGINE_ID);
    for (const study of config.studies) {
      this.annotationStores.set(study.studyInstanceUID, new AnnotationStore(study.annotationsUrl, { csrfToken: config.csrfToken }));
      this.keyImageStores.set(study.studyInstanceUID, new KeyImageStore(study.keyImagesUrl, { csrfToken: config.csrfToken }));
    }
    for (const store of this.annotationStores.values()) store.onError = (e) => this.status(`Could not save a measurement: ${e}`, true);
  }

  /** ``seriesSearch``: the QIDO-RS answers, when main.ts asked for them before initializing. */
  async start(seriesSearch?: Promise<SeriesSummary[]>[]): Promise<void> {
    setUpTools((done) => done(window.prompt("Arrow text") ?? ""));
    this.bindToolbar();
    this.bindStackBar();
    this.bindKeyboard();
    this.bindMeasurements();
    new ResizeObserver(() => this.engine.resize(true, true)).observe(this.grid);
    this.modes = new ReadingModes({
      root: this.root,
      engine: this.engine,
      config: this.config,
      toolGroupId: TOOL_GROUP_ID,
      slots: () => this.slots,
      active: () => this.active,
      series: (uid) => this.seriesByUid.get(uid),
      showSeries: (slot, summary) => this.showSeries(slot, summary),
      status: (message, error) => this.status(message, error),
      viewChanged: () => this.syncControls(),
      volumeViewsOpening: () => this.showReformats(),
    });
    this.modes.bind();

    const perStudy = await Promise.all(seriesSearch ?? this.config.studies.map((s) => searchSeries(this.root, s.studyInstanceUID)));
    perStudy.flat().forEach((s) => this.seriesByUid.set(s.seriesInstanceUID, s));
    this.renderSeriesPanel(perStudy);
    const hanging = hangStudies(perStudy);
    $("viewer").dataset.protocol = hanging.protocol;
    this.setLayout(layoutName(hanging.layout));
    // Measurements and key images load alongside the first images, never before them.
    const saved = this.restoreSaved();
    await Promise.all(
      hanging.viewports.map(async (assignment, i) => {
        const summary = this.seriesByUid.get(assignment.seriesInstanceUID);
        if (summary && this.slots[i]) await this.showSeries(this.slots[i], summary, assignment.preset);
      }),
    );
    await saved;
    await this.modes.afterHanging(hanging, perStudy);
    $("viewer").dataset.state = "ready";
  }

  // --- Series panel and layout -----------------------------------------------------------

  private renderSeriesPanel(perStudy: SeriesSummary[][]): void {
    const list = $("series-list");
    perStudy.forEach((series, studyIndex) => {
      for (const s of series) {
        const item = document.createElement("li");
        item.className = "series-item";
        // Reports, segmentations and structure sets are listed but not opened as stacks (yet).
        item.draggable = isViewable(s);
        item.dataset.seriesUid = s.seriesInstanceUID;
        const img = document.createElement("img");
        img.alt = "";
        img.addEventListener("error", () => (img.hidden = true));
        img.loading = "lazy";
        img.src = `${this.root}/studies/${s.studyInstanceUID}/series/${s.seriesInstanceUID}/thumbnail`;
        const title = document.createElement("div");
        title.className = "series-title";
        const modality = document.createElement("span");
        modality.textContent = s.modality;
        const count = document.createElement("span");
        count.className = "series-count";
        count.textContent = `${s.instanceCount} img`;
        const number = document.createElement("span");
        number.textContent = s.seriesNumber !== undefined ? `#${s.seriesNumber}` : "";
        title.append(number, modality, count);
        const desc = document.createElement("div");
        desc.className = "series-desc";
        desc.textContent = s.description || "(no description)";
        desc.title = s.description;
        item.append(img, title, desc);
        if (perStudy.length > 1) {
          const study = document.createElement("div");
          study.className = "study-date";
          study.textContent = `Study ${studyIndex + 1}`;
          item.append(study);
        }
        item.addEventListener("dragstart", (e) => {
          e.dataTransfer?.setData("application/x-lumen-series", s.seriesInstanceUID);
          e.dataTransfer?.setData("text/plain", s.seriesInstanceUID);
        });
        if (isViewable(s)) item.addEventListener("dblclick", () => this.active && void this.showSeries(this.active, s));
        list.append(item);
      }
    });
  }

  setLayout(name: string): void {
    const layout = LAYOUTS[name];
    if (!layout) return;
    const count = layout.rows * layout.columns;
    this.grid.dataset.layout = name;
    while (this.slots.length > count) {
      const slot = this.slots.pop()!;
      if (this.cineSlot === slot) this.stopCine();
      slot.disable();
      slot.root.remove();
    }
    while (this.slots.length < count) {
      const slot = new ViewportSlot(this.slots.length, this.engine, TOOL_GROUP_ID);
      this.grid.append(slot.root);
      slot.enable();
      this.bindSlot(slot);
      this.slots.push(slot);
    }
    this.engine.resize(true, true);
    if (!this.active || !this.slots.includes(this.active)) this.activate(this.slots[0]);
    for (const button of document.querySelectorAll<HTMLButtonElement>("[data-layout]")) {
      button.setAttribute("aria-pressed", String(button.dataset.layout === name));
    }
    this.markShownSeries();
  }

  private bindSlot(slot: ViewportSlot): void {
    slot.root.addEventListener("mousedown", () => this.activate(slot), { capture: true });
    slot.root.addEventListener("dragover", (e) => {
      e.preventDefault();
      slot.root.classList.add("drop-target");
    });
    slot.root.addEventListener("dragleave", () => slot.root.classList.remove("drop-target"));
    slot.root.addEventListener("drop", (e) => {
      e.preventDefault();
      slot.root.classList.remove("drop-target");
      const uid = e.dataTransfer?.getData("application/x-lumen-series") || e.dataTransfer?.getData("text/plain");
      const summary = uid ? this.seriesByUid.get(uid) : undefined;
      if (summary && isViewable(summary)) {
        this.activate(slot);
        void this.showSeries(slot, summary);
      }
    });
    const changed = () => {
      if (slot === this.active) this.syncControls();
    };
    slot.element.addEventListener(Enums.Events.STACK_NEW_IMAGE, () => {
      changed();
      slot.series?.prefetch(slot.imageIndex);
    });
    slot.element.addEventListener(Enums.Events.VOI_MODIFIED, changed);
  }

  private activate(slot: ViewportSlot | undefined): void {
    if (!slot) return;
    this.active = slot;
    for (const s of this.slots) s.root.classList.toggle("active", s === slot);
    this.syncControls();
  }

  async showSeries(slot: ViewportSlot, summary: SeriesSummary, preset = hang([summary]).viewports[0]?.preset): Promise<void> {
    if (this.cineSlot === slot) this.stopCine();
    this.status(`Loading ${summary.modality} ${summary.description}…`);
    const series = await loadSeries(this.root, summary);
    registerSuv(series); // a PET reads in SUV (its pixels are scaled as they load)
    slot.keyImages = new Set([...this.keyImages.keys()].filter((id) => series.instanceOf.has(id)));
    series.onProgress(() => slot === this.active && this.syncLoad());
    await slot.show(series, preset);
    this.modes?.seriesShown();
    if (!$("patient-banner").textContent) this.banner(series);
    this.markShownSeries();
    if (slot === this.active) this.syncControls();
    this.status("");
  }

  private markShownSeries(): void {
    const shown = new Set(this.slots.map((s) => s.series?.summary.seriesInstanceUID));
    for (const item of document.querySelectorAll<HTMLElement>(".series-item")) item.classList.toggle("shown", shown.has(item.dataset.seriesUid));
  }

  // --- Toolbar ----------------------------------------------------------------------------

  private bindToolbar(): void {
    for (const button of document.querySelectorAll<HTMLButtonElement>("[data-layout]")) {
      button.addEventListener("click", () => this.setLayout(button.dataset.layout!));
    }
    for (const button of document.querySelectorAll<HTMLButtonElement>("[data-tool]")) {
      button.addEventListener("click", () => this.chooseTool(button.dataset.tool!));
    }
    this.chooseTool("WindowLevel");
    for (const button of document.querySelectorAll<HTMLButtonElement>("[data-action]")) {
      button.addEventListener("click", () => this.act(button.dataset.action!));
    }
    const preset = $("preset") as HTMLSelectElement;
    for (const p of CT_PRESETS) {
      const option = document.createElement("option");
      option.value = p.name;
      option.textContent = `${p.key} ${p.name} (${p.center}/${p.width})`;
      preset.append(option);
    }
    preset.addEventListener("change", () => this.applyPreset(preset.value));
    const center = $("window-center") as HTMLInputElement;
    const width = $("window-width") as HTMLInputElement;
    const fromSliders = () => this.windowTarget()?.setWindow({ center: Number(center.value), width: Number(width.value) });
    center.addEventListener("input", fromSliders);
    width.addEventListener("input", fromSliders);
    $("cine-play").addEventListener("click", () => this.toggleCine());
    $("cine-fps").addEventListener("change", () => this.cineSlot && this.startCine());
    $("key-image").addEventListener("click", () => void this.toggleKeyImage());
    $("show-tags").addEventListener("click", () => this.showTags());
    ($("tag-search") as HTMLInputElement).addEventListener("input", () => this.renderTags());
  }

  chooseTool(name: string): void {
    const toolName = TOOLS[name];
    if (!toolName) return;
    setPrimaryTool(toolName);
    for (const button of document.querySelectorAll<HTMLButtonElement>("[data-tool]")) {
      button.setAttribute("aria-pressed", String(button.dataset.tool === name));
    }
  }

  private act(action: string): void {
    const slot = this.active;
    if (!slot?.series) return;
    const viewport = slot.viewport;
    const presentation = viewport.getViewPresentation();
    switch (action) {
      case "fit":
        viewport.resetCamera({ resetPan: true, resetZoom: true });
        viewport.setViewPresentation({ rotation: presentation.rotation, flipHorizontal: presentation.flipHorizontal, flipVertical: presentation.flipVertical });
        break;
      case "rotate":
        viewport.setViewPresentation({ rotation: ((presentation.rotation ?? 0) + 90) % 360 });
        break;
      case "flipH":
        viewport.setViewPresentation({ flipHorizontal: !presentation.flipHorizontal });
        break;
      case "flipV":
        viewport.setViewPresentation({ flipVertical: !presentation.flipVertical });
        break;
      case "invert":
        viewport.setProperties({ invert: !viewport.getProperties().invert });
        break;
      case "reset":
        viewport.resetCamera();
        viewport.resetProperties();
        break;
    }
    viewport.render();
    slot.updateOverlays();
    this.syncControls();
  }

  /** What the window controls act on: the views on screen in MPR and fusion, else the active stack. */
  private windowTarget(): WindowTarget | undefined {
    return this.modes?.windowTarget() ?? (this.active?.series ? this.active : undefined);
  }

  private applyPreset(name: string): void {
    const target = this.windowTarget();
    if (!target) return;
    const preset = CT_PRESETS.find((p) => p.name === name);
    if (preset) target.setWindow({ center: preset.center, width: preset.width });
    else target.resetWindow();
    this.syncControls();
  }

  // --- Stack bar and keyboard ---------------------------------------------------------------

  private bindStackBar(): void {
    const slider = $("stack-slider") as HTMLInputElement;
    slider.addEventListener("input", () => void this.active?.scrollTo(Number(slider.value)));
    $("first-image").addEventListener("click", () => this.jump(0));
    $("prev-image").addEventListener("click", () => this.step(-1));
    $("next-image").addEventListener("click", () => this.step(1));
    $("last-image").addEventListener("click", () => this.jump(Number.MAX_SAFE_INTEGER));
  }

  jump(index: number): void {
    if (!this.active?.series) return;
    void this.active.scrollTo(index);
    this.syncControls();
  }

  step(delta: number): void {
    const slot = this.active;
    if (!slot?.series) return;
    void slot.scrollTo(slot.targetIndex + delta);
    this.syncControls();
  }

  private bindKeyboard(): void {
    document.addEventListener("keydown", (e) => {
      const target = e.target as HTMLElement;
      if (target.closest("input, select, textarea, dialog") || e.ctrlKey || e.metaKey || e.altKey) return;
      const slot = this.active;
      const page = Math.max(1, Math.round((slot?.imageCount ?? 10) / 10));
      const keys: Record<string, () => void> = {
        ArrowDown: () => this.step(1),
        ArrowRight: () => this.step(1),
        ArrowUp: () => this.step(-1),
        ArrowLeft: () => this.step(-1),
        PageDown: () => this.step(page),
        PageUp: () => this.step(-page),
        Home: () => this.jump(0),
        End: () => this.jump(Number.MAX_SAFE_INTEGER),
        " ": () => this.toggleCine(),
        Escape: () => this.act("reset"),
        "0": () => this.applyPreset(""),
        i: () => this.act("invert"),
        f: () => this.act("fit"),
        w: () => this.chooseTool("WindowLevel"),
        p: () => this.chooseTool("Pan"),
        z: () => this.chooseTool("Zoom"),
        l: () => this.chooseTool("Length"),
        a: () => this.chooseTool("Angle"),
        e: () => this.chooseTool("EllipticalROI"),
        r: () => this.chooseTool("RectangleROI"),
        k: () => void this.toggleKeyImage(),
        t: () => this.showTags(),
      };
      for (const preset of CT_PRESETS) keys[preset.key] = () => this.applyPreset(preset.name);
      const action = keys[e.key];
      if (action) {
        e.preventDefault();
        action();
      }
    });
  }

  /** The stack bar, window sliders and preset follow the active viewport. */
  private syncControls(): void {
    const slot = this.active;
    const slider = $("stack-slider") as HTMLInputElement;
    const count = slot?.imageCount ?? 0;
    slider.max = String(Math.max(0, count - 1));
    // The slice asked for, at once (the viewport's own overlay says which one is drawn).
    slider.value = String(slot?.targetIndex ?? 0);
    $("position").textContent = count ? `Image ${(slot?.targetIndex ?? 0) + 1} / ${count}` : "Image – / –";
    const window = this.windowTarget()?.getWindow();
    if (window) {
      ($("window-center") as HTMLInputElement).value = String(Math.round(window.center));
      ($("window-width") as HTMLInputElement).value = String(Math.round(window.width));
      $("window-value").textContent = windowReadout(window);
      ($("preset") as HTMLSelectElement).value = presetOf(window)?.name ?? "";
    }
    const shown = this.shownImage();
    const key = shown && "imageId" in shown ? this.keyImages.has(shown.imageId) : false;
    $("key-image").setAttribute("aria-pressed", String(key));
    this.syncLoad();
  }

  private syncLoad(): void {
    const series = this.active?.series;
    const progress = $("load-progress") as HTMLProgressElement;
    if (!series) return;
    progress.max = series.imageIds.length;
    progress.value = series.loaded.size;
    $("load-text").textContent = series.loaded.size < series.imageIds.length ? `${series.loaded.size} / ${series.imageIds.length} loaded` : "all loaded";
    $("viewer").dataset.loaded = String(series.loaded.size);
  }

  // --- Cine --------------------------------------------------------------------------------

  private toggleCine(): void {
    if (this.cineSlot) this.stopCine();
    else this.startCine();
  }

  private startCine(): void {
    const slot = this.cineSlot ?? this.active;
    if (!slot?.series) return;
    if (this.cineSlot) toolsUtilities.cine.stopClip(this.cineSlot.element);
    const fps = Math.max(1, Math.min(60, Number(($("cine-fps") as HTMLInputElement).value) || 15));
    this.cineSlot = slot;
    toolsUtilities.cine.playClip(slot.element, { framesPerSecond: fps, loop: true });
    $("cine-play").textContent = "■";
    $("cine-play").setAttribute("aria-pressed", "true");
  }

  private stopCine(): void {
    if (this.cineSlot) toolsUtilities.cine.stopClip(this.cineSlot.element);
    this.cineSlot = undefined;
    $("cine-play").textContent = "▶";
    $("cine-play").setAttribute("aria-pressed", "false");
  }

  // --- Measurements and key images -----------------------------------------------------------

  private bindMeasurements(): void {
    const { Events } = ToolEnums;
    const save = (event: Event) => {
      const annotation = (event as CustomEvent).detail?.annotation as CornerstoneAnnotation | undefined;
      if (this.restoring || !annotation || !isMeasurement(annotation)) return;
      const saved = toSaved(annotation, this.modes?.reformatAnchor(annotation));
      const store = saved && this.annotationStores.get(saved.studyInstanceUID);
      if (!saved || !store) return;
      const print = fingerprint(saved.row);
      if (this.savedMeasurements.get(saved.row.uid)?.print === print) return;
      this.savedMeasurements.set(saved.row.uid, { study: saved.studyInstanceUID, print });
      this.status("Saving measurement…");
      void store.save(saved.row).then(() => store.pending === 0 && this.status("Measurement saved"));
    };
    eventTarget.addEventListener(Events.ANNOTATION_COMPLETED, save);
    eventTarget.addEventListener(Events.ANNOTATION_MODIFIED, save);
    eventTarget.addEventListener(Events.ANNOTATION_REMOVED, (event: Event) => {
      const annotation = (event as CustomEvent).detail?.annotation as CornerstoneAnnotation | undefined;
      if (!annotation?.annotationUID || !isMeasurement(annotation)) return;
      const store = this.annotationStores.get(this.savedMeasurements.get(annotation.annotationUID)?.study ?? "");
      this.savedMeasurements.delete(annotation.annotationUID);
      void store?.remove(annotation.annotationUID);
    });
    // Delete removes the selected measurement (and so deletes it on the server).
    document.addEventListener("keydown", (e) => {
      if (e.key !== "Delete" && e.key !== "Backspace") return;
      if ((e.target as HTMLElement).closest("input, select, textarea, dialog")) return;
      for (const uid of toolsAnnotation.selection.getAnnotationsSelected()) toolsAnnotation.state.removeAnnotation(uid);
      toolsUtilities.triggerAnnotationRenderForToolGroupIds([TOOL_GROUP_ID, MPR_TOOL_GROUP_ID]);
    });
  }

  /** Saved measurements and key images of every open study, back on screen. */
  private async restoreSaved(): Promise<void> {
    await Promise.all(
      this.config.studies.map(async (study: StudyConfig) => {
        const uid = study.studyInstanceUID;
        try {
          const [annotations, keys] = await Promise.all([this.annotationStores.get(uid)!.load(), this.keyImageStores.get(uid)!.load()]);
          this.restoring = true;
          try {
            for (const row of annotations) {
              const annotation = fromSaved(row, this.root, uid);
              if (isReformat(row)) this.reformats.push(annotation);
              else addToState(annotation);
              const anchor = frameImageId(this.root, { studyInstanceUID: uid, seriesInstanceUID: row.series_instance_uid, sopInstanceUID: row.sop_instance_uid, frame: row.frame });
              const saved = toSaved(annotation, anchor);
              this.savedMeasurements.set(row.uid, { study: uid, print: saved ? fingerprint(saved.row) : "" });
            }
          } finally {
            this.restoring = false;
          }
          for (const key of keys) {
            this.keyImages.set(frameImageId(this.root, { studyInstanceUID: uid, seriesInstanceUID: key.series_instance_uid, sopInstanceUID: key.sop_instance_uid, frame: key.frame }), key);
          }
        } catch (error) {
          this.status(`Saved measurements could not be loaded: ${error}`, true);
        }
      }),
    );
    for (const slot of this.slots) {
      slot.keyImages = new Set([...this.keyImages.keys()].filter((id) => slot.series?.instanceOf.has(id)));
      slot.updateOverlays();
    }
    $("viewer").dataset.restored = String(toolsAnnotation.state.getAllAnnotations().length + this.reformats.length);
    toolsUtilities.triggerAnnotationRenderForToolGroupIds([TOOL_GROUP_ID]);
    this.syncControls();
  }

  /** The saved measurements of reformatted views, into Cornerstone's state (MPR is opening). */
  private showReformats(): void {
    this.restoring = true;
    try {
      for (const annotation of this.reformats.splice(0)) addToState(annotation);
    } finally {
      this.restoring = false;
    }
  }

  /** The image on screen for key images and tags: the active stack's, or the clicked volume view's
   * when it is an acquired image (a reason when it is a reformat or a slab). */
  private shownImage(): ShownImage | undefined {
    const inVolume = this.modes?.shownImage();
    if (inVolume) return inVolume;
    const slot = this.active;
    const imageId = slot?.currentImageId;
    const instance = slot?.currentInstance;
    return imageId && instance ? { imageId, instance } : undefined;
  }

  private async toggleKeyImage(): Promise<void> {
    const shown = this.shownImage();
    if (shown && "reason" in shown) return this.status(`Not a key image: ${shown.reason}`, true);
    const imageId = shown?.imageId;
    const ref = imageId ? parseImageId(imageId) : undefined;
    const store = ref && this.keyImageStores.get(ref.studyInstanceUID);
    if (!imageId || !ref || !store) return;
    try {
      const existing = this.keyImages.get(imageId);
      if (existing?.id !== undefined) {
        await store.remove(existing.id);
        this.keyImages.delete(imageId);
        this.status("Key image removed");
      } else {
        const saved = await store.add({ series_instance_uid: ref.seriesInstanceUID, sop_instance_uid: ref.sopInstanceUID, frame: ref.frame, note: "" });
        this.keyImages.set(imageId, saved);
        this.status("Marked as key image");
      }
    } catch (error) {
      this.status(`Key image not saved: ${error}`, true);
    }
    for (const slot of this.slots) {
      slot.keyImages = new Set([...this.keyImages.keys()].filter((id) => slot.series?.instanceOf.has(id)));
      slot.updateOverlays();
    }
    this.syncControls();
  }

  // --- Tag browser ------------------------------------------------------------------------------

  private tagRowsOfImage: TagRow[] = [];

  private showTags(): void {
    const shown = this.shownImage();
    if (shown && "reason" in shown) return this.status(`No tags to show: ${shown.reason}`, true);
    const instance = shown?.instance;
    if (!instance) return;
    this.status("");
    const dictionary = dcmjs.data.DicomMetaDictionary.dictionary;
    this.tagRowsOfImage = tagRows(instance, (tag) => dictionary[tag]);
    ($("tag-search") as HTMLInputElement).value = "";
    this.renderTags();
    ($("tag-browser") as HTMLDialogElement).showModal();
  }

  private renderTags(): void {
    const query = ($("tag-search") as HTMLInputElement).value;
    const body = $("tag-table").querySelector("tbody")!;
    const rows = filterRows(this.tagRowsOfImage, query).map((row) => {
      const tr = document.createElement("tr");
      if (row.depth > 0) tr.className = "nested";
      for (const value of [`${"› ".repeat(row.depth)}${row.tag}`, row.name, row.vr, row.value]) {
        const td = document.createElement("td");
        td.textContent = value;
        tr.append(td);
      }
      return tr;
    });
    body.replaceChildren(...rows);
  }

  // --- Status -----------------------------------------------------------------------------------

  status(message: string, error = false): void {
    const node = $("status");
    node.textContent = message;
    node.classList.toggle("error", error);
  }

  /** The patient banner from the first image's header (untrusted text). */
  banner(series: LoadedSeries): void {
    const first = series.first;
    if (!first) return;
    $("patient-banner").textContent = [displayName(text(first, Tag.PatientName)), text(first, Tag.PatientID), displayDate(text(first, Tag.StudyDate))]
      .filter(Boolean)
      .join(" · ");
  }
}

export function engine(): RenderingEngine | undefined {
  return getRenderingEngine(ENGINE_ID);
}

export { csUtilities };

function addToState(annotation: CornerstoneAnnotation): void {
  toolsAnnotation.state.addAnnotation(annotation as never, (annotation.metadata.FrameOfReferenceUID as string) ?? "");
}
