// Quick series view: one server-rendered frame at a time (DICOMweb "rendered" resource,
// PS3.18 8.3.5.1.3 window=center,width,function), stepped with buttons, arrow keys or the wheel.
// Every frame of every instance is a step. DICOM text only ever goes in through textContent.
(function () {
  "use strict";

  const config = JSON.parse(document.getElementById("series-config").textContent);
  const $ = (id) => document.getElementById(id);
  const image = $("image");
  const stage = $("stage");
  const centerInput = $("window-center");
  const widthInput = $("window-width");
  const presetSelect = $("preset");

  // One entry per displayed image: [instance, frame number (1-based)].
  const steps = [];
  for (const instance of config.instances) {
    for (let frame = 1; frame <= Math.max(1, instance.frames); frame += 1) steps.push([instance, frame]);
  }

  let index = 0;
  let windowing = null; // null: each image's own default window; else {center, width}
  const prefetched = new Map();

  function frameUrl(step, win) {
    const [instance, frame] = step;
    let url = config.frameUrl.replace("{sop}", encodeURIComponent(instance.sop)).replace("{frame}", String(frame));
    if (win) url += "?window=" + encodeURIComponent(`${win.center},${win.width},linear`);
    return url;
  }

  function number(value, digits) {
    if (value === null || value === undefined) return "";
    return Number.isInteger(value) ? String(value) : Number(value).toFixed(digits);
  }

  function showMetadata(step) {
    const [instance, frame] = step;
    $("meta-instance-number").textContent = instance.number === null ? "" : String(instance.number);
    $("meta-frame").textContent = `${frame} / ${Math.max(1, instance.frames)}`;
    $("meta-slice-location").textContent = instance.sliceLocation === null ? "" : `${number(instance.sliceLocation, 2)} mm`;
    $("meta-slice-thickness").textContent = instance.sliceThickness === null ? "" : `${number(instance.sliceThickness, 2)} mm`;
    $("meta-pixel-spacing").textContent = Array.isArray(instance.pixelSpacing)
      ? `${instance.pixelSpacing.map((v) => number(v, 3)).join(" × ")} mm`
      : "";
    const win = effectiveWindow(instance);
    $("meta-window").textContent = win ? `C ${number(win.center, 1)} / W ${number(win.width, 1)}` : "default";
  }

  function effectiveWindow(instance) {
    if (windowing) return windowing;
    if (instance.windowCenter !== null && instance.windowWidth !== null) {
      return { center: instance.windowCenter, width: instance.windowWidth };
    }
    return null;
  }

  function showSliders(instance) {
    const win = effectiveWindow(instance);
    if (!win) return;
    centerInput.value = String(Math.round(win.center));
    widthInput.value = String(Math.round(win.width));
    $("window-center-value").textContent = String(Math.round(win.center));
    $("window-width-value").textContent = String(Math.round(win.width));
  }

  function prefetch() {
    const wanted = new Set();
    for (const offset of [1, -1, 2, -2, 3]) {
      const step = steps[index + offset];
      if (step) wanted.add(frameUrl(step, windowing));
    }
    for (const url of prefetched.keys()) if (!wanted.has(url)) prefetched.delete(url);
    for (const url of wanted) {
      if (prefetched.has(url)) continue;
      const img = new Image();
      img.src = url;
      prefetched.set(url, img);
    }
  }

  function show() {
    if (!steps.length) {
      $("position").textContent = "No images";
      for (const id of ["prev", "next"]) $(id).disabled = true;
      return;
    }
    const step = steps[index];
    const url = frameUrl(step, windowing);
    if (image.getAttribute("src") !== url) {
      image.dataset.state = "loading";
      image.src = url;
    }
    $("position").textContent = `Image ${index + 1} / ${steps.length}`;
    $("prev").disabled = index === 0;
    $("next").disabled = index === steps.length - 1;
    showMetadata(step);
    showSliders(step[0]);
    prefetch();
  }

  function go(delta) {
    const target = Math.min(steps.length - 1, Math.max(0, index + delta));
    if (target !== index) {
      index = target;
      show();
    }
  }

  function setWindow(win) {
    windowing = win;
    show();
  }

  image.addEventListener("load", () => {
    image.dataset.state = "loaded";
    $("image-error").hidden = true;
  });
  image.addEventListener("error", () => {
    image.dataset.state = "error";
    $("image-error").hidden = false;
  });

  $("prev").addEventListener("click", () => go(-1));
  $("next").addEventListener("click", () => go(1));

  document.addEventListener("keydown", (event) => {
    // Arrow keys belong to the sliders and the preset list while they have the focus.
    if (event.target instanceof HTMLInputElement || event.target instanceof HTMLSelectElement) return;
    if (event.altKey || event.ctrlKey || event.metaKey) return;
    const moves = { ArrowRight: 1, ArrowDown: 1, PageDown: 10, ArrowLeft: -1, ArrowUp: -1, PageUp: -10 };
    if (event.key in moves) go(moves[event.key]);
    else if (event.key === "Home") go(-index);
    else if (event.key === "End") go(steps.length);
    else return;
    event.preventDefault();
  });

  // One step per wheel notch (Chromium reports about 100 px, others 53 or 120, or 3 lines);
  // a trackpad sends many small deltas, which add up to a step.
  let wheelDelta = 0;
  stage.addEventListener(
    "wheel",
    (event) => {
      event.preventDefault();
      wheelDelta += event.deltaMode === 0 ? event.deltaY : event.deltaY * 40;
      if (Math.abs(wheelDelta) >= 50) {
        go(Math.sign(wheelDelta));
        wheelDelta = 0;
      }
    },
    { passive: false },
  );

  for (const preset of config.presets) {
    const option = document.createElement("option");
    option.value = `${preset.center},${preset.width}`;
    option.textContent = `${preset.name} (C ${preset.center} / W ${preset.width})`;
    presetSelect.append(option);
  }
  const custom = document.createElement("option");
  custom.value = "custom";
  custom.textContent = "Custom";
  custom.hidden = true;
  presetSelect.append(custom);

  presetSelect.addEventListener("change", () => {
    if (presetSelect.value === "default") return setWindow(null);
    if (presetSelect.value === "custom") return;
    const [center, width] = presetSelect.value.split(",").map(Number);
    setWindow({ center, width });
  });

  // Dragging a slider fires many input events; the image follows at most every 80 ms.
  let sliderTimer = null;
  function onSlider() {
    $("window-center-value").textContent = centerInput.value;
    $("window-width-value").textContent = widthInput.value;
    custom.hidden = false;
    presetSelect.value = "custom";
    clearTimeout(sliderTimer);
    sliderTimer = setTimeout(() => setWindow({ center: Number(centerInput.value), width: Number(widthInput.value) }), 80);
  }
  centerInput.addEventListener("input", onSlider);
  widthInput.addEventListener("input", onSlider);

  // Slider ranges: CT numbers by default, widened for modalities whose values reach further.
  const first = config.instances.find((i) => i.windowCenter !== null && i.windowWidth !== null);
  if (first) {
    centerInput.min = String(Math.min(-1024, Math.floor(first.windowCenter - 2 * first.windowWidth)));
    centerInput.max = String(Math.max(3071, Math.ceil(first.windowCenter + 2 * first.windowWidth)));
    widthInput.max = String(Math.max(4096, Math.ceil(4 * first.windowWidth)));
  }

  show();
  stage.focus();
})();
