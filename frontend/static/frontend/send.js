// Follows a "send to node" job on the study page: polls its status URL (GET /api/send-jobs/<id>)
// and shows the progress and one line per instance. Text only through textContent: SOP Instance
// UIDs and peer comments come from outside.
(function () {
  "use strict";
  const section = document.getElementById("send-progress");
  if (!section) return;
  const url = section.dataset.statusUrl;
  const statusText = document.getElementById("send-status");
  const counts = document.getElementById("send-counts");
  const bar = document.getElementById("send-bar");
  const error = document.getElementById("send-error");
  const list = document.getElementById("send-results");
  const POLL_MS = 1000;
  const LABELS = { queued: "Queued", running: "Sending", done: "Done", failed: "Failed" };

  function show(job) {
    section.dataset.state = job.status;
    statusText.textContent = LABELS[job.status] || job.status;
    bar.max = Math.max(job.total, 1);
    bar.value = job.status === "done" && job.total === 0 ? 1 : job.done;
    counts.textContent = `${job.done} of ${job.total} sent · ${job.completed} ok` +
      (job.warning ? ` · ${job.warning} with warning` : "") + (job.failed ? ` · ${job.failed} failed` : "");
    error.hidden = !job.error;
    error.textContent = job.error || "";
    // Results only grow: append the new ones.
    for (let i = list.children.length; i < job.results.length; i++) {
      const result = job.results[i];
      const item = document.createElement("li");
      item.className = `send-result send-${result.result}`;
      const code = result.status === null ? "" : ` (0x${result.status.toString(16).toUpperCase().padStart(4, "0")})`;
      item.textContent = `${result.sop_instance_uid}: ${result.result}${code}${result.comment ? " – " + result.comment : ""}`;
      list.appendChild(item);
    }
  }

  async function poll() {
    try {
      const response = await fetch(url, { headers: { Accept: "application/json" }, credentials: "same-origin" });
      if (!response.ok) throw new Error(`status ${response.status}`);
      const job = await response.json();
      show(job);
      if (job.status === "done" || job.status === "failed") return;
    } catch (err) {
      statusText.textContent = `Progress unavailable (${err.message}); retrying`;
    }
    setTimeout(poll, POLL_MS);
  }

  poll();
})();
