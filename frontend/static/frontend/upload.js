// Upload page: files, whole folders (folder picker or drag-and-drop) and ZIPs go to the upload
// API in batches (a few MB or a few dozen files per request, a big file alone), so nothing large
// sits in memory on either side; the server ingests while the rest is still being sent.
// Everything the user or a file supplies (names, reasons, patient names) goes in through textContent.
(function () {
  "use strict";

  const config = JSON.parse(document.getElementById("upload-config").textContent);
  const $ = (id) => document.getElementById(id);
  const dropZone = $("drop-zone");
  const pickFiles = $("pick-files");
  const pickFolder = $("pick-folder");
  const POLL_MS = 500;
  const STATUS_TEXT = { stored: "Stored", duplicate: "Already stored", rejected: "Rejected", skipped: "Skipped" };

  let busy = false;
  let lastSummary = null;
  let pollingJob = null; // the job URL being polled; cleared to stop polling

  $("max-size").textContent = megabytes(config.maxBytes);

  function megabytes(bytes) {
    if (bytes < 1024 * 1024) return Math.ceil(bytes / 1024).toLocaleString() + " kB";
    return (bytes / (1024 * 1024)).toLocaleString(undefined, { maximumFractionDigits: bytes < 10 * 1024 * 1024 ? 1 : 0 }) + " MB";
  }

  function csrfToken() {
    const field = document.querySelector("input[name=csrfmiddlewaretoken]");
    if (field) return field.value;
    const match = document.cookie.match(/(?:^|;\s*)csrftoken=([^;]+)/);
    return match ? decodeURIComponent(match[1]) : "";
  }

  function showError(message) {
    const box = $("upload-error");
    box.textContent = message;
    box.hidden = !message;
  }

  // --- Collecting files ---------------------------------------------------------------------

  function fromInput(input) {
    return Array.from(input.files, (file) => ({ file, path: file.webkitRelativePath || file.name }));
  }

  function fileOf(entry) {
    return new Promise((resolve, reject) => entry.file(resolve, reject));
  }

  function readBatch(reader) {
    return new Promise((resolve, reject) => reader.readEntries(resolve, reject));
  }

  async function walk(entry, out) {
    if (entry.isFile) {
      out.push({ file: await fileOf(entry), path: entry.fullPath.replace(/^\/+/, "") });
    } else if (entry.isDirectory) {
      const reader = entry.createReader();
      // readEntries answers in chunks (100 at a time in Chromium) until it returns an empty list.
      for (;;) {
        const children = await readBatch(reader);
        if (!children.length) break;
        for (const child of children) await walk(child, out);
      }
    }
  }

  async function fromDrop(dataTransfer) {
    // The entries must be taken during the drop event itself; the DataTransfer goes stale after.
    const entries = Array.from(dataTransfer.items || [])
      .filter((item) => item.kind === "file" && item.webkitGetAsEntry)
      .map((item) => item.webkitGetAsEntry())
      .filter(Boolean);
    if (!entries.length) return Array.from(dataTransfer.files || [], (file) => ({ file, path: file.name }));
    const out = [];
    for (const entry of entries) await walk(entry, out);
    return out;
  }

  function batchesOf(files) {
    const batches = [];
    let current = [];
    let bytes = 0;
    for (const item of files) {
      if (current.length && (current.length >= config.batchMaxFiles || bytes + item.file.size > config.batchMaxBytes)) {
        batches.push(current);
        current = [];
        bytes = 0;
      }
      current.push(item);
      bytes += item.file.size;
    }
    if (current.length) batches.push(current);
    return batches;
  }

  // --- Talking to the API -------------------------------------------------------------------

  function request(method, url, body, onProgress) {
    return new Promise((resolve, reject) => {
      const xhr = new XMLHttpRequest();
      xhr.open(method, url);
      xhr.responseType = "json";
      xhr.setRequestHeader("X-CSRFToken", csrfToken());
      xhr.setRequestHeader("Accept", "application/json");
      if (onProgress) xhr.upload.addEventListener("progress", (event) => onProgress(event.loaded));
      xhr.addEventListener("load", () => resolve({ status: xhr.status, body: xhr.response || {} }));
      xhr.addEventListener("error", () => reject(new Error("The connection to the server was lost.")));
      xhr.send(body);
    });
  }

  // The clinical fields of the form travel with the job's creation (stored on the job).
  function clinicalDetails() {
    const form = new FormData();
    for (const name of ["reason_for_exam", "referring_physician", "priority"]) {
      const field = document.querySelector(`#clinical-details [name=${name}]`);
      if (field) form.append(name, field.value);
    }
    const forReading = document.querySelector("#clinical-details [name=submit_for_reading]");
    if (forReading && forReading.checked) form.append("submit_for_reading", "on");
    return form;
  }

  function refusal(response) {
    return (response.body && response.body.detail) || `The server refused the request (HTTP ${response.status}).`;
  }

  async function upload(files) {
    if (busy) return;
    reset();
    if (!files.length) {
      showError("No files were found in what you chose.");
      return;
    }
    const totalBytes = files.reduce((sum, item) => sum + item.file.size, 0);
    if (totalBytes > config.maxBytes) {
      showError(`These files add up to ${megabytes(totalBytes)}, more than the ${megabytes(config.maxBytes)} one upload may hold. Send them in several uploads.`);
      return;
    }
    busy = true;
    dropZone.classList.add("busy");
    $("upload-status").hidden = false;
    setSent(0, totalBytes);
    window.addEventListener("beforeunload", warnOnLeave);
    try {
      const created = await request("POST", config.createUrl, clinicalDetails());
      if (created.status !== 201) throw new Error(refusal(created));
      const job = created.body;
      const polling = poll(job.url);
      polling.catch(() => {}); // awaited below; this only keeps an early failure from going unhandled
      let sentBefore = 0;
      for (const batch of batchesOf(files)) {
        const form = new FormData();
        // Browsers drop folders from a part's file name: the part is named by its index, the path sent beside it.
        batch.forEach((item, index) => {
          form.append("file", item.file, String(index));
          form.append("path", item.path);
        });
        const batchBytes = batch.reduce((sum, item) => sum + item.file.size, 0);
        const sent = await request("POST", job.files_url, form, (loaded) => setSent(sentBefore + Math.min(loaded, batchBytes), totalBytes));
        if (sent.status !== 201) {
          showError(refusal(sent));
          break; // what was already sent is still stored: complete the job so its summary arrives
        }
        sentBefore += batchBytes;
        setSent(sentBefore, totalBytes);
        render(sent.body);
      }
      const completed = await request("POST", job.complete_url, null);
      if (completed.status !== 200) throw new Error(refusal(completed));
      render(completed.body);
      await polling;
    } catch (error) {
      pollingJob = null;
      showError(error.message);
    } finally {
      busy = false;
      dropZone.classList.remove("busy");
      window.removeEventListener("beforeunload", warnOnLeave);
    }
  }

  async function poll(url) {
    pollingJob = url;
    while (pollingJob === url) {
      await new Promise((resolve) => setTimeout(resolve, POLL_MS));
      if (pollingJob !== url) return;
      const response = await request("GET", url, null);
      if (response.status !== 200) throw new Error(refusal(response));
      render(response.body);
      if (response.body.status === "done") break;
    }
    if (pollingJob === url) pollingJob = null;
  }

  function warnOnLeave(event) {
    event.preventDefault();
    event.returnValue = "";
  }

  // --- Showing progress and the summary -----------------------------------------------------

  function setSent(sent, total) {
    const bar = $("send-progress");
    bar.max = Math.max(total, 1);
    bar.value = Math.min(sent, total);
    $("send-text").textContent = `${megabytes(sent)} / ${megabytes(total)}`;
  }

  function render(progress) {
    const bar = $("upload-progress");
    bar.max = Math.max(progress.files.total, 1);
    bar.value = progress.files.done;
    $("files-text").textContent = `${progress.files.done} / ${progress.files.total} files`;
    for (const status of ["stored", "duplicate", "rejected", "skipped"]) {
      $("count-" + status).textContent = String(progress.counts[status]);
    }
    $("upload-state").textContent =
      progress.status === "done" ? "Done." : progress.upload_complete ? "Storing what was received…" : "Sending; files are stored as they arrive…";
    if (progress.status === "done" && progress.items) renderSummary(progress);
  }

  function renderSummary(progress) {
    lastSummary = progress;
    const studies = $("summary-studies");
    studies.replaceChildren();
    for (const study of progress.studies) {
      const link = document.createElement("a");
      link.href = study.url;
      link.textContent = [study.patient_name || "(no name)", study.description || "study", study.study_date || ""].filter(Boolean).join(" · ");
      const li = document.createElement("li");
      li.append(link);
      studies.append(li);
    }
    $("summary-no-studies").hidden = progress.studies.length > 0;
    renderFiles();
    $("upload-summary").hidden = false;
  }

  function renderFiles() {
    const onlyProblems = $("only-problems").checked;
    const body = $("summary-files");
    body.replaceChildren();
    for (const item of lastSummary.items) {
      if (onlyProblems && (item.status === "stored" || item.status === "duplicate")) continue;
      const row = document.createElement("tr");
      row.className = "status-" + item.status;
      for (const text of [item.name, STATUS_TEXT[item.status] || item.status, item.reason]) {
        const cell = document.createElement("td");
        cell.textContent = text;
        row.append(cell);
      }
      body.append(row);
    }
  }

  function reset() {
    pollingJob = null;
    showError("");
    lastSummary = null;
    $("upload-summary").hidden = true;
    $("summary-files").replaceChildren();
    $("summary-studies").replaceChildren();
    render({ status: "receiving", upload_complete: false, files: { total: 0, done: 0 }, counts: { stored: 0, duplicate: 0, rejected: 0, skipped: 0 } });
  }

  // --- Wiring -------------------------------------------------------------------------------

  $("choose-files").addEventListener("click", () => pickFiles.click());
  $("choose-folder").addEventListener("click", () => pickFolder.click());
  for (const input of [pickFiles, pickFolder]) {
    input.addEventListener("change", () => {
      const files = fromInput(input);
      input.value = "";
      upload(files);
    });
  }
  dropZone.addEventListener("dragover", (event) => {
    event.preventDefault();
    event.dataTransfer.dropEffect = busy ? "none" : "copy";
    dropZone.classList.add("over");
  });
  dropZone.addEventListener("dragleave", () => dropZone.classList.remove("over"));
  dropZone.addEventListener("drop", (event) => {
    event.preventDefault();
    dropZone.classList.remove("over");
    if (busy) return;
    fromDrop(event.dataTransfer).then(upload, (error) => showError(`The dropped files could not be read: ${error.message}`));
  });
  $("only-problems").addEventListener("change", () => lastSummary && renderFiles());
  $("upload-again").addEventListener("click", () => {
    reset();
    $("upload-status").hidden = true;
  });
})();
