// Making a sticker: choose the square on the photo (drag, pinch, slider, wheel), record up to ten seconds of
// voice, then send it all to the API. With a voice and no caption, the page shows "Listening…" until the
// server has heard the words and drawn them on the sticker; the caption can then be changed.
import "./stickers.js"; // tap a sticker to hear it

// Strings come from Django's JavaScript catalog (/jsi18n/, loaded before this module); English without it.
const gettext = globalThis.gettext ?? ((text) => text);

const form = document.getElementById("sticker-form");
const api = form.dataset.api;
const csrf = form.querySelector("input[name=csrfmiddlewaretoken]").value;
const photoInput = document.getElementById("sticker-photo");
const cropSection = document.getElementById("crop");
const stage = document.getElementById("crop-stage");
const image = document.getElementById("crop-image");
const box = document.getElementById("crop-box");
const zoom = document.getElementById("crop-zoom");
const fields = { x: document.getElementById("crop_x"), y: document.getElementById("crop_y"), size: document.getElementById("crop_size") };
const recordButton = document.getElementById("sticker-record");
const recordState = document.getElementById("sticker-record-state");
const preview = document.getElementById("sticker-voice-preview");
const removeVoice = document.getElementById("sticker-voice-remove");
const audioInput = document.getElementById("sticker-audio");
const captionInput = document.getElementById("sticker-caption");
const formError = document.getElementById("sticker-error");
const submit = document.getElementById("sticker-submit");
const result = document.getElementById("sticker-result");
const resultImage = document.getElementById("result-image");
const resultTile = document.getElementById("result-tile");
const resultStatus = document.getElementById("result-status");
const resultCaption = document.getElementById("result-caption");
const resultSave = document.getElementById("result-save");
const VOICE_LIMIT_MS = 10_000;

// --- the square ---------------------------------------------------------------------------------------------
// Kept in the photo's own pixels (upright, as the browser shows it); drawn scaled to the stage.
let natural = { width: 0, height: 0 };
let crop = { x: 0, y: 0, size: 0 };

function scale() {
  return image.clientWidth / natural.width;
}

function clampCrop() {
  const side = Math.min(natural.width, natural.height);
  crop.size = Math.max(Math.min(crop.size, side), Math.min(64, side));
  crop.x = Math.min(Math.max(crop.x, 0), natural.width - crop.size);
  crop.y = Math.min(Math.max(crop.y, 0), natural.height - crop.size);
}

function draw() {
  clampCrop();
  const s = scale();
  box.style.left = `${crop.x * s}px`;
  box.style.top = `${crop.y * s}px`;
  box.style.width = box.style.height = `${crop.size * s}px`;
  fields.x.value = Math.round(crop.x);
  fields.y.value = Math.round(crop.y);
  fields.size.value = Math.floor(crop.size);
  zoom.value = String(Math.round((crop.size / Math.min(natural.width, natural.height)) * 100));
}

function resizeTo(size) {
  const centre = { x: crop.x + crop.size / 2, y: crop.y + crop.size / 2 };
  crop.size = size;
  crop.x = centre.x - size / 2;
  crop.y = centre.y - size / 2;
  draw();
}

photoInput.addEventListener("change", () => {
  const file = photoInput.files[0];
  showErrors({});
  if (!file) return;
  image.onload = () => {
    natural = { width: image.naturalWidth, height: image.naturalHeight };
    const side = Math.min(natural.width, natural.height);
    crop = { x: (natural.width - side) / 2, y: (natural.height - side) / 2, size: side };
    cropSection.hidden = false;
    draw();
  };
  image.onerror = () => {
    cropSection.hidden = true;
    natural = { width: 0, height: 0 };
  };
  image.src = URL.createObjectURL(file);
});

const pointers = new Map();
let dragFrom = null;
let pinchFrom = null;

stage.addEventListener("pointerdown", (event) => {
  if (!natural.width) return;
  stage.setPointerCapture(event.pointerId);
  pointers.set(event.pointerId, { x: event.clientX, y: event.clientY });
  if (pointers.size === 1) {
    dragFrom = { px: event.clientX, py: event.clientY, x: crop.x, y: crop.y };
  } else if (pointers.size === 2) {
    const [a, b] = [...pointers.values()];
    pinchFrom = { distance: Math.hypot(a.x - b.x, a.y - b.y), size: crop.size };
    dragFrom = null;
  }
  event.preventDefault();
});

stage.addEventListener("pointermove", (event) => {
  if (!pointers.has(event.pointerId)) return;
  pointers.set(event.pointerId, { x: event.clientX, y: event.clientY });
  if (pinchFrom && pointers.size === 2) {
    const [a, b] = [...pointers.values()];
    const distance = Math.hypot(a.x - b.x, a.y - b.y);
    resizeTo(pinchFrom.size * (distance / Math.max(pinchFrom.distance, 1)));
  } else if (dragFrom) {
    const s = scale();
    crop.x = dragFrom.x + (event.clientX - dragFrom.px) / s;
    crop.y = dragFrom.y + (event.clientY - dragFrom.py) / s;
    draw();
  }
});

function release(event) {
  pointers.delete(event.pointerId);
  if (pointers.size < 2) pinchFrom = null;
  if (pointers.size === 0) dragFrom = null;
}
stage.addEventListener("pointerup", release);
stage.addEventListener("pointercancel", release);

stage.addEventListener(
  "wheel",
  (event) => {
    if (!natural.width) return;
    event.preventDefault();
    resizeTo(crop.size * (event.deltaY > 0 ? 1.08 : 1 / 1.08));
  },
  { passive: false },
);

zoom.addEventListener("input", () => resizeTo((Number(zoom.value) / 100) * Math.min(natural.width, natural.height)));

box.addEventListener("keydown", (event) => {
  const step = Math.max(4, crop.size / 20);
  const moves = { ArrowLeft: [-step, 0], ArrowRight: [step, 0], ArrowUp: [0, -step], ArrowDown: [0, step] };
  if (!moves[event.key]) return;
  event.preventDefault();
  crop.x += moves[event.key][0];
  crop.y += moves[event.key][1];
  draw();
});

window.addEventListener("resize", () => natural.width && draw());

// --- the voice ----------------------------------------------------------------------------------------------
let recorder = null;
let recorded = null; // {blob, name}
let timer = null;

function setVoice(blob, name) {
  recorded = blob ? { blob, name } : null;
  preview.hidden = !blob;
  removeVoice.hidden = !blob;
  if (blob) {
    preview.src = URL.createObjectURL(blob);
    audioInput.value = "";
  }
  recordButton.textContent = blob ? gettext("Record again") : gettext("Record");
}

async function startRecording() {
  let stream;
  try {
    stream = await navigator.mediaDevices.getUserMedia({ audio: true });
  } catch {
    recordState.textContent = gettext("The microphone isn't available. You can choose a sound file instead.");
    return;
  }
  const chunks = [];
  recorder = new MediaRecorder(stream);
  recorder.addEventListener("dataavailable", (event) => event.data.size && chunks.push(event.data));
  recorder.addEventListener("stop", () => {
    clearInterval(timer);
    stream.getTracks().forEach((track) => track.stop());
    const type = recorder.mimeType || "audio/webm";
    recorder = null;
    recordButton.classList.remove("recording-now");
    recordState.textContent = "";
    if (chunks.length) {
      const extension = type.includes("mp4") ? "m4a" : type.includes("ogg") ? "ogg" : "webm";
      setVoice(new Blob(chunks, { type }), `voice.${extension}`);
    }
  });
  const started = Date.now();
  recorder.start(250);
  recordButton.textContent = gettext("Stop");
  recordButton.classList.add("recording-now");
  const tick = () => {
    const elapsed = Date.now() - started;
    recordState.textContent = `● 0:${String(Math.min(10, Math.floor(elapsed / 1000))).padStart(2, "0")} / 0:10`;
    if (elapsed >= VOICE_LIMIT_MS) recorder?.stop();
  };
  tick();
  timer = setInterval(tick, 200);
}

if (window.MediaRecorder && navigator.mediaDevices?.getUserMedia) {
  recordButton.hidden = false;
  recordButton.addEventListener("click", () => (recorder ? recorder.stop() : startRecording()));
}
removeVoice.addEventListener("click", () => setVoice(null));
audioInput.addEventListener("change", () => audioInput.files.length && setVoice(null));

// --- sending, and the caption arriving ------------------------------------------------------------------------
function showErrors(found) {
  for (const name of ["image", "audio", "caption", "crop"]) {
    const list = document.getElementById(`error-${name}`);
    const messages = found[name] || [];
    list.replaceChildren(
      ...messages.map((text) => {
        const item = document.createElement("li");
        item.textContent = text;
        return item;
      }),
    );
    list.hidden = !messages.length;
    list.closest(".field")?.classList.toggle("invalid", messages.length > 0);
  }
}

function showSticker(sticker) {
  result.hidden = false;
  form.hidden = true;
  resultImage.src = sticker.image_url;
  resultImage.alt = sticker.caption || gettext("Your sticker");
  if (sticker.audio_url) resultTile.dataset.audio = sticker.audio_url;
  else delete resultTile.dataset.audio;
  if (document.activeElement !== resultCaption) resultCaption.value = sticker.caption;
  if (sticker.status === "processing") {
    resultStatus.textContent = gettext("Listening…");
  } else if (sticker.status === "failed") {
    resultStatus.textContent = gettext(
      "We couldn't make out the words this time. The sticker works; give it a caption if you like.",
    );
  } else if (sticker.audio_url && !sticker.caption) {
    resultStatus.textContent = gettext("We didn't catch any words. Give it a caption if you like.");
  } else {
    resultStatus.textContent = sticker.audio_url ? gettext("Done — tap it to hear your voice.") : gettext("Done.");
  }
}

async function follow(id) {
  for (let attempt = 0; attempt < 120; attempt += 1) {
    await new Promise((resolve) => setTimeout(resolve, 700));
    const response = await fetch(`${api}/${id}`, { headers: { Accept: "application/json" } }).catch(() => null);
    if (!response?.ok) continue;
    const sticker = await response.json();
    showSticker(sticker);
    if (sticker.status !== "processing") return;
  }
}

let current = null;

form.addEventListener("submit", async (event) => {
  event.preventDefault();
  formError.hidden = true;
  showErrors({});
  const data = new FormData(form);
  for (const name of ["crop_x", "crop_y", "crop_size"]) if (!data.get(name)) data.delete(name);
  if (recorded) data.set("audio", recorded.blob, recorded.name);
  else if (!audioInput.files.length) data.delete("audio");
  submit.disabled = true;
  submit.textContent = gettext("Making…");
  let response;
  try {
    response = await fetch(api, { method: "POST", headers: { "X-CSRFToken": csrf }, body: data });
  } catch {
    formError.textContent = gettext("You seem to be offline. Nothing was lost: try again when you're back.");
    formError.hidden = false;
    return;
  } finally {
    submit.disabled = false;
    submit.textContent = gettext("Make the sticker");
  }
  const body = await response.json().catch(() => ({}));
  if (!response.ok) {
    if (body.fields && Object.keys(body.fields).some((name) => document.getElementById(`error-${name}`))) showErrors(body.fields);
    else {
      formError.textContent = body.message || gettext("That didn't work. Try again.");
      formError.hidden = false;
    }
    return;
  }
  current = body;
  showSticker(body);
  if (body.status === "processing") follow(body.id);
});

resultSave.addEventListener("click", async () => {
  if (!current) return;
  const response = await fetch(`${api}/${current.id}`, {
    method: "PATCH",
    headers: { "Content-Type": "application/json", "X-CSRFToken": csrf },
    body: JSON.stringify({ caption: resultCaption.value }),
  });
  const body = await response.json().catch(() => ({}));
  if (response.ok) {
    current = body;
    showSticker(body);
    resultStatus.textContent = gettext("Caption saved.");
  } else {
    resultStatus.textContent = body.message || gettext("Not saved.");
  }
});
