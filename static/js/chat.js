import "./stickers.js"; // tap a sticker to hear it

// A conversation, live: messages arrive over the WebSocket and go out over it too (a `send` frame), or through
// the API when the socket is down, drops before it answers or says nothing for a few seconds: with the same
// client_id either way, so a message is never lost and never stored twice. Photos and voice go through the API.
// After a reconnect the page asks for everything after the last number it holds. Typed while offline? It goes
// when the line is back.

// Strings come from Django's JavaScript catalog (/jsi18n/, loaded before this module); English without it.
const gettext = globalThis.gettext ?? ((text) => text);
const interpolate =
  globalThis.interpolate ?? ((format, values) => format.replace(/%\((\w+)\)s/g, (_match, key) => String(values[key])));

const chat = document.getElementById("chat");
const list = document.getElementById("messages");
const form = document.getElementById("composer");
const input = document.getElementById("chat-text");
const typingLine = document.getElementById("typing");
const connectionLine = document.getElementById("connection");
const readLine = document.getElementById("read-state");
const conversationId = chat.dataset.conversation;
const me = chat.dataset.me;
const api = chat.dataset.api;
const csrf = form.querySelector("input[name=csrfmiddlewaretoken]").value;
let lastSeq = Number(chat.dataset.lastSeq);
let asking = 0; // when the resume now awaiting its resume.done was sent (0: none): one at a time
let need = 0; // the newest seq a resync said this conversation reached
let again = false; // ask once more when the answer is in (a resync that could not say how far)
let gapAskedFor = -1; // the lastSeq a gap was last asked about
let gapRetries = 0; // resumes asked since the last message was taken
let gapTimer = null;
const early = new Map(); // messages that arrived before their turn, by seq
const updated = new Map(); // messages changed before they were shown (their words came first), by seq
let othersRead = Number(chat.dataset.othersRead);
const isGroup = chat.dataset.group === "1";
const photoInput = document.getElementById("chat-photo");
const recordButton = document.getElementById("record");
const recordingLine = document.getElementById("recording");
const recordingTime = document.getElementById("recording-time");
const composerError = document.getElementById("composer-error");
const VOICE_LIMIT_MS = 60_000;
const outbox = []; // {clientId, json} or {clientId, form}: what to send, kept until the server has it
const SOCKET_ANSWER_MS = 5000; // a `send` frame unanswered this long goes through the API instead
const answers = new Map(); // client_id → what takes the answer to the `send` frame now in flight
// Refused on the resend, but perhaps stored by the socket whose answer was lost: client_id → {reason, text}, the
// refusal shown and the words put back (if they were), taken back if the message comes after all.
const refusedMaybeStored = new Map();
let socket = null;
let signedIn = false; // the socket said auth.ok: it takes `send` frames
let retry = 0;
let typingTimer = null;
let lastTypingSent = 0;

function scrollDown() {
  window.scrollTo({ top: document.body.scrollHeight });
}

const EVENT_TEXT = {
  created: (name) => interpolate(gettext("%(name)s started the group"), { name }, true),
  joined: (name) => interpolate(gettext("%(name)s joined"), { name }, true),
  left: (name) => interpolate(gettext("%(name)s left"), { name }, true),
  removed: (name) => interpolate(gettext("%(name)s was removed"), { name }, true),
};

function stickerNode(message) {
  const sticker = message.sticker;
  if (!sticker || sticker.removed) {
    const gone = document.createElement("span");
    gone.className = "bubble-text muted";
    gone.textContent = gettext("This sticker was deleted.");
    return [gone];
  }
  const button = document.createElement("button");
  button.type = "button";
  button.className = "bubble-sticker";
  button.setAttribute("aria-label", sticker.caption || gettext("Sticker"));
  if (sticker.audio_url) button.dataset.audio = sticker.audio_url;
  const img = document.createElement("img");
  img.src = sticker.image_url;
  img.alt = "";
  img.width = img.height = 150;
  button.append(img);
  const nodes = [button];
  if (sticker.audio_url && sticker.caption) {
    // What the voice says, as text beside the sticker (the button's name says it to a screen reader).
    const caption = document.createElement("span");
    caption.className = "bubble-caption small";
    caption.setAttribute("aria-hidden", "true");
    caption.textContent = `♪ ${sticker.caption}`;
    nodes.push(caption);
  }
  if (message.sender.username === me) return nodes;
  const keep = document.createElement("button");
  keep.type = "button";
  keep.className = "link small sticker-keep";
  keep.dataset.sticker = sticker.id;
  keep.textContent = gettext("Save sticker");
  return [...nodes, keep];
}

function attachmentNode(message) {
  if (message.kind === "voice" && message.audio_url) {
    const wrap = document.createElement("span");
    wrap.className = "voice";
    const audio = document.createElement("audio");
    audio.controls = true;
    audio.preload = "none"; // the length is in the label; nothing is fetched until it is played
    audio.src = message.audio_url;
    const length = document.createElement("span");
    length.className = "voice-length";
    length.setAttribute("aria-hidden", "true");
    const whole = Math.round(message.audio_seconds || 0);
    const label = interpolate(
      gettext("Voice message, %(length)s"),
      { length: `${Math.floor(whole / 60)}:${String(whole % 60).padStart(2, "0")}` },
      true,
    );
    length.textContent = label;
    audio.setAttribute("aria-label", label);
    wrap.append(audio, length);
    return message.transcript ? [wrap, transcriptNode(message.transcript)] : [wrap];
  }
  if (message.kind === "photo" && message.image) {
    const link = document.createElement("a");
    link.className = "bubble-photo";
    link.href = message.image.url;
    link.target = "_blank";
    link.rel = "noopener";
    const img = document.createElement("img");
    img.src = message.image.thumb_url;
    img.alt = "Photo";
    if (message.image.width) img.width = message.image.width;
    if (message.image.height) img.height = message.image.height;
    link.append(img);
    return link;
  }
  if (message.kind === "post" && message.post) {
    if (message.post.removed) {
      const gone = document.createElement("span");
      gone.className = "bubble-post removed small";
      gone.textContent = gettext("This post was removed.");
      return gone;
    }
    const link = document.createElement("a");
    link.className = "bubble-post";
    link.href = `/p/${message.post.id}`;
    const where = document.createElement("span");
    where.className = "small";
    where.textContent = interpolate(gettext("A post in %(channel)s"), { channel: message.post.channel_name }, true);
    const text = document.createElement("span");
    text.className = "bubble-post-text";
    text.textContent = message.post.text;
    link.append(where, text);
    return link;
  }
  return null;
}

// What a voice message says, under its player: the words, or where the server is with them.
const TRANSCRIPT_STATE = {
  pending: () => gettext("Transcribing…"),
  ready: () => gettext("No words recognised"),
  failed: () => gettext("Couldn't transcribe this message"),
  unavailable: () => gettext("No transcript in this language"),
};

function transcriptNode(transcript) {
  const node = document.createElement("p");
  node.className = transcript.text ? "voice-transcript" : "voice-transcript none";
  node.textContent = transcript.text || (TRANSCRIPT_STATE[transcript.status] ?? TRANSCRIPT_STATE.failed)();
  return node;
}

// A message already shown changed (a voice message's words came): only its words are replaced, so a voice
// message being played goes on playing.
function update(message) {
  const shown = document.getElementById(`m-${message.seq}`);
  if (!shown) {
    if (message.seq > lastSeq) updated.set(message.seq, message); // shown as it is now when its turn comes
    return;
  }
  if (!message.transcript) return;
  const fresh = transcriptNode(message.transcript);
  const old = shown.querySelector(".voice-transcript");
  if (old) old.replaceWith(fresh);
  else shown.querySelector(".voice")?.after(fresh);
}

// As the server's `when` filter says it: "today 06:42", "yesterday 23:10", else the day.
function when(moment) {
  const clock = moment.toLocaleTimeString([], { hour: "2-digit", minute: "2-digit", hourCycle: "h23" });
  const day = (date) => new Date(date.getFullYear(), date.getMonth(), date.getDate()).getTime();
  const days = Math.round((day(new Date()) - day(moment)) / 86400000);
  if (days === 0) return interpolate(gettext("today %(time)s"), { time: clock }, true);
  if (days === 1) return interpolate(gettext("yesterday %(time)s"), { time: clock }, true);
  return moment.toLocaleDateString(document.documentElement.lang || [], { month: "short", day: "numeric" });
}

function bubble(message) {
  const item = document.createElement("li");
  item.dataset.seq = String(message.seq);
  item.id = `m-${message.seq}`;
  if (message.kind === "event") {
    item.className = "chat-event muted small";
    const describe = EVENT_TEXT[message.text];
    item.textContent = describe ? describe(message.sender.username || gettext("someone")) : "";
    return item;
  }
  const mine = message.sender.username === me;
  item.className = `bubble kind-${message.kind || "text"}` + (mine ? " mine" : "");
  if (isGroup && !mine) {
    const name = document.createElement("span");
    name.className = "bubble-name";
    name.textContent = message.sender.username || gettext("someone who left");
    item.append(name);
  }
  if (message.kind === "sticker") item.append(...stickerNode(message));
  const attached = attachmentNode(message);
  if (Array.isArray(attached)) item.append(...attached);
  else if (attached) item.append(attached);
  if (message.pendingLabel) {
    const label = document.createElement("span");
    label.className = "bubble-text muted";
    label.textContent = message.pendingLabel;
    item.append(label);
  }
  if (message.text) {
    const text = document.createElement("span");
    text.className = "bubble-text";
    text.textContent = message.text;
    item.append(text);
  }
  const time = document.createElement("time");
  time.className = "bubble-time";
  time.dateTime = message.created_at;
  time.textContent = when(new Date(message.created_at));
  item.append(time);
  return item;
}

function showReadState() {
  const mine = [...list.querySelectorAll(".bubble.mine")];
  const last = mine.at(-1);
  readLine.hidden = !(last && Number(last.dataset.seq) <= othersRead);
}

function resume() {
  // One at a time: asking again while the server is busy answering only makes it busier. An answer that
  // never comes (the frame was refused) frees the way after 15 s.
  if (socket?.readyState !== WebSocket.OPEN) return; // auth.ok resumes once it is
  if (asking && Date.now() - asking < 15000) return;
  asking = Date.now();
  socket.send(JSON.stringify({ type: "resume", conversation_id: conversationId, after: lastSeq }));
}

function resumeDone(data) {
  asking = 0;
  if (data.more || lastSeq < need || again) {
    again = false;
    resume();
    return;
  }
  // A gap still open was stored after the answer was read: its event is usually on its way. If not, ask
  // again in a second, then 2, 4, 8 while nothing moves.
  for (const seq of early.keys()) if (seq <= lastSeq) early.delete(seq);
  if (!early.size) return;
  clearTimeout(gapTimer);
  gapTimer = setTimeout(() => {
    for (const seq of early.keys()) if (seq <= lastSeq) early.delete(seq);
    if (!early.size) return;
    gapRetries += 1;
    resume();
  }, Math.min(8000, 1000 * 2 ** gapRetries));
}

function add(message) {
  if (message.seq <= lastSeq) return; // already shown: a resume or a second tab
  if (message.seq > lastSeq + 1) {
    // Early (two server processes may announce one conversation out of order) or one went missing:
    // keep it for its turn, and ask for what is missing (once from here; resumeDone asks again if need be).
    early.set(message.seq, message);
    if (gapAskedFor !== lastSeq) {
      gapAskedFor = lastSeq;
      resume();
    }
    return;
  }
  document.getElementById(`pending-${message.client_id}`)?.remove();
  list.append(bubble(updated.get(message.seq) ?? message));
  updated.delete(message.seq);
  lastSeq = message.seq;
  gapRetries = 0;
  if (message.sender.username === me) {
    settle(message.client_id);
  } else {
    typingLine.hidden = true;
    document.getElementById("waiting")?.remove(); // they answered: the request is accepted
    markRead();
  }
  showReadState();
  scrollDown();
  const next = early.get(lastSeq + 1);
  early.delete(lastSeq + 1);
  if (next) add(next);
}

async function markRead() {
  if (document.visibilityState !== "visible") return;
  await fetch(`${api}/read`, {
    method: "POST",
    headers: { "Content-Type": "application/json", "X-CSRFToken": csrf },
    body: JSON.stringify({ seq: lastSeq }),
  }).catch(() => {});
}

function showError(text) {
  composerError.textContent = text;
  composerError.hidden = !text;
}

async function post(next) {
  if (next.form) {
    return fetch(`${api}/messages`, { method: "POST", headers: { "X-CSRFToken": csrf }, body: next.form });
  }
  return fetch(`${api}/messages`, {
    method: "POST",
    headers: { "Content-Type": "application/json", "X-CSRFToken": csrf },
    body: JSON.stringify(next.json),
  });
}

// Through the API: {message} once stored (or a resend's first message), {refusal} with the API's error body.
// Throws when the line is down.
async function overHttp(next) {
  const response = await post(next);
  const body = await response.json().catch(() => ({}));
  return response.ok ? { message: body } : { refusal: body };
}

// Through the socket: {message} for a `sent`, {refusal} for an `error` frame carrying this client_id, or null
// when the socket closes first or nothing comes within SOCKET_ANSWER_MS (the frame may or may not have been
// stored: the API, asked with the same client_id, stores it or answers the message stored).
function overSocket(next) {
  return new Promise((resolve) => {
    const done = (outcome) => {
      clearTimeout(timer);
      answers.delete(next.clientId);
      resolve(outcome);
    };
    const timer = setTimeout(() => done(null), SOCKET_ANSWER_MS);
    answers.set(next.clientId, done);
    try {
      socket.send(JSON.stringify({ type: "send", conversation_id: conversationId, ...next.json }));
    } catch {
      done(null);
    }
  });
}

// Whichever door: the socket when it is open and the message carries no file, else (or when it fails) the API.
async function deliver(next) {
  if (next.json && signedIn && socket?.readyState === WebSocket.OPEN) {
    const outcome = await overSocket(next);
    if (outcome) return outcome;
    next.maybeStored = true; // the socket may have stored it: a refusal of the resend is not the last word
  }
  return overHttp(next);
}

// What the person sees of a refusal, whichever door said it: a field's own message when there is one (a
// message too long), else the refusal's.
function refusalText(body) {
  const fieldMessage = Object.values(body.fields ?? {}).flat()[0];
  return fieldMessage || body.message || gettext("Not sent. Try again.");
}

// Not sent: the reason next to the composer. Typed words go back into the composer (unless something new was
// typed meanwhile) to be changed and sent again, and their bubble goes; anything else stays as a bubble marked
// as not sent.
function refused(next, body) {
  const reason = refusalText(body);
  showError(reason);
  const pending = document.getElementById(`pending-${next.clientId}`);
  const typed = next.json?.text;
  const putBack = typed && !next.json.sticker_id && !input.value.trim();
  if (next.maybeStored) {
    refusedMaybeStored.set(next.clientId, { reason, text: putBack ? typed : null });
    askWhatIsStored(); // its echo may never come (lost with the answer): a resume brings it if it was stored
  }
  if (putBack) {
    input.value = typed;
    syncComposer();
    pending?.remove();
    return;
  }
  if (pending) {
    pending.classList.add("failed");
    pending.querySelector(".bubble-time").textContent = reason;
  }
}

function askWhatIsStored() {
  if (asking) again = true; // the resume under way may have started before it was stored
  resume();
}

// A message of mine was stored (its answer, its echo or a resume brought it), and its bubble shown: a refusal
// of it, coming or shown, is no longer true. Words put back are taken out if the composer still holds just them.
function settle(clientId) {
  const sending = outbox.find((entry) => entry.clientId === clientId);
  if (sending) sending.stored = true;
  const shown = refusedMaybeStored.get(clientId);
  if (!shown) return;
  refusedMaybeStored.delete(clientId);
  if (composerError.textContent === shown.reason) showError("");
  if (shown.text && input.value === shown.text) {
    input.value = "";
    syncComposer();
  }
}

let flushing = false;

async function flush() {
  // One sender at a time: a retry timer, the socket's auth.ok and the browser's "online" may all call this.
  if (flushing) return;
  flushing = true;
  try {
    await sendAll();
  } finally {
    flushing = false;
  }
}

async function sendAll() {
  while (outbox.length) {
    const next = outbox[0];
    let outcome;
    try {
      outcome = await deliver(next);
    } catch {
      // Offline: keep it, and try again soon (or as soon as the browser says the line is back).
      connectionLine.hidden = false;
      setTimeout(flush, 3000);
      return;
    }
    connectionLine.hidden = socket?.readyState === WebSocket.OPEN;
    outbox.shift();
    if (outcome.message) {
      showError("");
      add(outcome.message); // as any stored message: its pending bubble goes, the message's echo is not shown twice
    } else if (next.stored) {
      showError(""); // its echo came while the resend was refused: it was stored, and shown, all the same
    } else {
      refused(next, outcome.refusal);
    }
  }
}

function queue(entry, preview) {
  const pending = bubble({ seq: 0, sender: { username: me }, created_at: new Date().toISOString(), ...preview });
  pending.id = `pending-${entry.clientId}`;
  pending.classList.add("pending");
  list.append(pending);
  scrollDown();
  outbox.push(entry);
  flush();
}

function sendFile(field, file, filename, label) {
  const clientId = crypto.randomUUID();
  const form = new FormData();
  form.append(field, file, filename);
  form.append("client_id", clientId);
  queue({ clientId, form }, { kind: "text", text: "", pendingLabel: label });
}

function connect() {
  const scheme = location.protocol === "https:" ? "wss" : "ws";
  socket = new WebSocket(`${scheme}://${location.host}/ws/`);
  socket.addEventListener("message", (event) => {
    const data = JSON.parse(event.data);
    if (data.type === "auth.ok") {
      signedIn = true;
      retry = 0;
      connectionLine.hidden = true;
      asking = 0; // an answer to the last socket's resume is gone with it
      resume();
      flush();
    } else if (data.type === "resync") {
      // The server may have missed events for us (its Redis was away). It says how far each of our
      // conversations went: ask only if this one went further than we hold (without that, ask anyway).
      const newest = data.conversations;
      if (!newest) {
        again = Boolean(asking);
        resume();
      } else if (lastSeq < (newest[conversationId] ?? 0)) {
        need = Math.max(need, newest[conversationId]);
        resume();
      }
    } else if (data.type === "sent" && answers.has(data.message?.client_id)) {
      answers.get(data.message.client_id)({ message: data.message });
    } else if (data.type === "error" && data.frame === "send" && answers.has(data.client_id)) {
      answers.get(data.client_id)({ refusal: data });
    } else if (data.type === "resume.done" && data.conversation_id === conversationId) {
      resumeDone(data);
    } else if (data.type === "message.new" && data.conversation_id === conversationId) {
      add(data.message);
    } else if (data.type === "message.updated" && data.conversation_id === conversationId) {
      update(data.message);
    } else if (data.type === "typing" && data.conversation_id === conversationId) {
      typingLine.textContent = interpolate(gettext("%(name)s is typing…"), { name: data.username }, true);
      typingLine.hidden = false;
      clearTimeout(typingTimer);
      typingTimer = setTimeout(() => (typingLine.hidden = true), 4000);
    } else if (data.type === "conversation.accepted" && data.conversation_id === conversationId) {
      document.getElementById("waiting")?.remove();
    } else if (data.type === "read" && data.conversation_id === conversationId && data.username !== me) {
      othersRead = Math.max(othersRead, data.seq);
      showReadState();
    } else if (data.type === "conversation.removed" && data.conversation_id === conversationId) {
      showError(gettext("You were removed from this group."));
      form.hidden = true;
    } else if (data.type === "message.new" || data.type === "conversation.request") {
      document.body.dispatchEvent(new Event("same:unread"));
    }
  });
  socket.addEventListener("close", () => {
    signedIn = false;
    for (const done of [...answers.values()]) done(null); // unanswered: the API takes them, same client_id
    connectionLine.hidden = false;
    retry = Math.min(retry + 1, 6);
    setTimeout(connect, 300 * 2 ** retry);
  });
}

// Words put back after a refusal of a message the socket may have stored all the same, sent again unchanged, go
// with that message's client_id: the server answers with the message it has, or stores it now, never twice.
function clientIdFor(text) {
  for (const [clientId, shown] of refusedMaybeStored) {
    if (shown.text === text) {
      refusedMaybeStored.delete(clientId);
      return clientId;
    }
  }
  return crypto.randomUUID();
}

form.addEventListener("submit", (event) => {
  event.preventDefault();
  const text = input.value.trim();
  if (!text) return;
  const clientId = clientIdFor(text);
  input.value = "";
  queue({ clientId, json: { text, client_id: clientId } }, { kind: "text", text });
});

photoInput.addEventListener("change", () => {
  const file = photoInput.files[0];
  photoInput.value = "";
  if (file) sendFile("image", file, file.name || "photo", gettext("Sending a photo…"));
});

// Voice: tap to record (up to a minute), tap again to send. Recorded as the browser likes it
// (WebM/Opus, or MP4/AAC on Safari); the server turns every recording into AAC in M4A.
let recorder = null;
let recordTimer = null;
let recordStarted = 0;
let cancelled = false;

function setRecording(on) {
  recordButton.setAttribute("aria-pressed", on ? "true" : "false");
  recordButton.classList.toggle("recording-now", on);
  const label = on ? recordButton.dataset.stop : recordButton.dataset.start;
  recordButton.title = label;
  document.getElementById("record-label").textContent = label;
  recordingLine.hidden = !on;
}

function tick() {
  const elapsed = Date.now() - recordStarted;
  const seconds = Math.min(60, Math.floor(elapsed / 1000));
  recordingTime.textContent = `0:${String(seconds).padStart(2, "0")}`;
  if (elapsed >= VOICE_LIMIT_MS) recorder?.stop();
}

async function startRecording() {
  let stream;
  try {
    stream = await navigator.mediaDevices.getUserMedia({ audio: true });
  } catch {
    showError(gettext("The microphone isn't available. Allow it in the browser to send a voice message."));
    return;
  }
  showError("");
  const chunks = [];
  cancelled = false;
  recorder = new MediaRecorder(stream);
  recorder.addEventListener("dataavailable", (event) => event.data.size && chunks.push(event.data));
  recorder.addEventListener("stop", () => {
    clearInterval(recordTimer);
    stream.getTracks().forEach((track) => track.stop());
    setRecording(false);
    const type = recorder.mimeType || "audio/webm";
    recorder = null;
    if (cancelled || !chunks.length) return;
    const blob = new Blob(chunks, { type });
    const extension = type.includes("mp4") ? "m4a" : type.includes("ogg") ? "ogg" : "webm";
    sendFile("audio", blob, `voice.${extension}`, gettext("Sending a voice message…"));
  });
  recordStarted = Date.now();
  recorder.start(250);
  setRecording(true);
  tick();
  recordTimer = setInterval(tick, 250);
}

// The microphone takes the send button's place while there is nothing typed (more room to type on a phone).
const sendButton = form.querySelector("button[type=submit]");
const canRecord = Boolean(window.MediaRecorder && navigator.mediaDevices?.getUserMedia);

function syncComposer() {
  const typed = input.value.trim() !== "";
  recordButton.hidden = !canRecord || typed;
  sendButton.hidden = canRecord && !typed && !recorder;
}
input.addEventListener("input", syncComposer);
form.addEventListener("submit", () => setTimeout(syncComposer));

if (canRecord) {
  syncComposer();
  recordButton.addEventListener("click", () => (recorder ? recorder.stop() : startRecording()));
  document.getElementById("record-cancel").addEventListener("click", () => {
    cancelled = true;
    recorder?.stop();
  });
}

input.addEventListener("input", () => {
  const now = Date.now();
  if (socket?.readyState === WebSocket.OPEN && now - lastTypingSent > 2500) {
    lastTypingSent = now;
    socket.send(JSON.stringify({ type: "typing", conversation_id: conversationId }));
  }
});

input.addEventListener("keydown", (event) => {
  if (event.key === "Enter" && !event.shiftKey) {
    event.preventDefault();
    form.requestSubmit();
  }
});

// Stickers: the tray opens above the composer; a tap sends one; tapping a sticker in the chat plays its voice.
const stickerButton = document.getElementById("sticker-button");
const tray = document.getElementById("sticker-tray");
stickerButton.hidden = false;
stickerButton.addEventListener("click", async () => {
  const opening = tray.hidden;
  tray.hidden = !opening;
  stickerButton.setAttribute("aria-expanded", String(opening));
  if (opening && !tray.dataset.loaded) {
    const response = await fetch(tray.dataset.url).catch(() => null);
    if (response?.ok) {
      tray.innerHTML = await response.text();
      tray.dataset.loaded = "1";
    }
  }
});
tray.addEventListener("click", (event) => {
  const choice = event.target.closest(".sticker-send");
  if (!choice) return;
  const clientId = crypto.randomUUID();
  const image = choice.querySelector("img").src;
  queue(
    { clientId, json: { sticker_id: choice.dataset.sticker, client_id: clientId } },
    { kind: "sticker", text: "", sticker: { id: choice.dataset.sticker, image_url: image, removed: false } },
  );
  tray.hidden = true;
  stickerButton.setAttribute("aria-expanded", "false");
});
list.addEventListener("click", async (event) => {
  const keep = event.target.closest(".sticker-keep");
  if (!keep) return;
  const response = await fetch(`/api/v1/stickers/${keep.dataset.sticker}/save`, { method: "POST", headers: { "X-CSRFToken": csrf } });
  keep.textContent = response.ok ? gettext("Saved ✓") : gettext("Not saved");
  keep.disabled = true;
  delete tray.dataset.loaded; // the tray shows it next time
});

window.addEventListener("online", flush);
showReadState();
scrollDown();
connect();
