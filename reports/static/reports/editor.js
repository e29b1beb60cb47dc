// Report editor: autosaves the draft (POST JSON to the draft URL with the CSRF token), applies
// templates, inserts macros at the cursor. Template and macro texts are set as textarea values,
// never as HTML. Configuration comes from a json_script block (CSP: no inline script).
(function () {
  "use strict";

  const configNode = document.getElementById("editor-config");
  const form = document.getElementById("report-form");
  if (!configNode || !form) return;
  const config = JSON.parse(configNode.textContent);
  const status = document.getElementById("autosave-status");
  const sections = Array.from(form.querySelectorAll("textarea.section"));
  const csrf = form.querySelector("input[name=csrfmiddlewaretoken]").value;
  const SAVE_AFTER_MS = 1200;
  let timer = null;
  let saving = null;
  let dirty = false;
  let lastFocused = sections.find((s) => s.name === "findings") || sections[0];

  function payload() {
    const data = {};
    for (const textarea of sections) data[textarea.name] = textarea.value;
    data.critical = document.getElementById("critical").checked;
    data.critical_told = document.getElementById("critical-told").value;
    data.critical_told_at = document.getElementById("critical-told-at").value;
    return data;
  }

  function show(text, state) {
    status.textContent = text;
    status.dataset.state = state;
  }

  async function save() {
    timer = null;
    if (saving) {
      // One request at a time; the change made meanwhile is saved right after.
      await saving;
    }
    if (!dirty) return;
    dirty = false;
    show("Saving…", "saving");
    saving = fetch(config.draftUrl, {
      method: "POST",
      credentials: "same-origin",
      headers: { "Content-Type": "application/json", "X-CSRFToken": csrf, Accept: "application/json" },
      body: JSON.stringify(payload()),
    })
      .then(async (response) => {
        const body = await response.json().catch(() => ({}));
        if (!response.ok) throw new Error(body.detail || `the server answered ${response.status}`);
        const when = new Date(body.saved_at);
        show(`Draft saved ${when.toLocaleTimeString()}`, "saved");
      })
      .catch((error) => {
        dirty = true;
        show(`Not saved: ${error.message}`, "error");
      })
      .finally(() => {
        saving = null;
      });
    await saving;
  }

  function changed() {
    dirty = true;
    show("Unsaved changes", "dirty");
    if (timer) clearTimeout(timer);
    timer = setTimeout(save, SAVE_AFTER_MS);
  }

  for (const textarea of sections) {
    textarea.addEventListener("input", changed);
    textarea.addEventListener("focus", () => { lastFocused = textarea; });
  }
  for (const id of ["critical", "critical-told", "critical-told-at"]) {
    const input = document.getElementById(id);
    input.addEventListener("input", changed);
    input.addEventListener("change", changed);
  }

  const applyTemplate = document.getElementById("apply-template");
  if (applyTemplate) {
    applyTemplate.addEventListener("click", () => {
      const picked = config.templates.find((t) => String(t.id) === document.getElementById("template-pick").value);
      if (!picked) return;
      for (const textarea of sections) {
        const text = picked.sections[textarea.name];
        if (typeof text === "string" && text) textarea.value = textarea.value ? `${textarea.value}\n${text}` : text;
      }
      changed();
    });
  }

  const insertMacro = document.getElementById("insert-macro");
  if (insertMacro) {
    insertMacro.addEventListener("click", () => {
      const macro = config.macros[Number(document.getElementById("macro-pick").value)];
      if (!macro || !lastFocused) return;
      const start = lastFocused.selectionStart ?? lastFocused.value.length;
      const end = lastFocused.selectionEnd ?? start;
      lastFocused.setRangeText(macro.text, start, end, "end");
      lastFocused.focus();
      changed();
    });
  }

  const templateForm = document.getElementById("template-form");
  if (templateForm) {
    templateForm.addEventListener("submit", () => {
      for (const hidden of templateForm.querySelectorAll("input[data-mirror]")) {
        hidden.value = document.getElementById(hidden.dataset.mirror).value;
      }
    });
  }

  // Signing posts the text on screen itself; a pending autosave is not needed any more.
  form.addEventListener("submit", () => {
    if (timer) clearTimeout(timer);
    timer = null;
  });
  window.addEventListener("beforeunload", (event) => {
    if (dirty && !form.dataset.submitting) event.preventDefault();
  });
  form.addEventListener("submit", () => { form.dataset.submitting = "1"; });
})();
