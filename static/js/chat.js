// A conversation, live: messages arrive over the WebSocket, are sent through the API with a
// client_id (so a resend after a drop never doubles), and after a reconnect the page asks for
// everything after the last number it holds. Typed while offline? It goes when the line is back.

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
let othersRead = Number(chat.dataset.othersRead);
const outbox = []; // {text, clientId}
let socket = null;
let retry = 0;
let typingTimer = null;
let lastTypingSent = 0;

function scrollDown() {
  window.scrollTo({ top: document.body.scrollHeight });
}

function bubble(message) {
  const item = document.createElement("li");
  item.className = "bubble" + (message.sender.username === me ? " mine" : "");
  item.dataset.seq = String(message.seq);
  item.id = `m-${message.seq}`;
  const text = document.createElement("span");
  text.className = "bubble-text";
  text.textContent = message.text;
  const time = document.createElement("time");
  time.className = "bubble-time";
  time.dateTime = message.created_at;
  time.textContent = new Date(message.created_at).toLocaleTimeString([], { hour: "2-digit", minute: "2-digit", hourCycle: "h23" });
  item.append(text, time);
  return item;
}

function showReadState() {
  const mine = [...list.querySelectorAll(".bubble.mine")];
  const last = mine.at(-1);
  readLine.hidden = !(last && Number(last.dataset.seq) <= othersRead);
}

function add(message) {
  if (message.seq <= lastSeq) return; // already shown: a resume or a second tab
  document.getElementById(`pending-${message.client_id}`)?.remove();
  list.append(bubble(message));
  lastSeq = message.seq;
  if (message.sender.username !== me) {
    typingLine.hidden = true;
    document.getElementById("waiting")?.remove(); // they answered: the request is accepted
    markRead();
  }
  showReadState();
  scrollDown();
}

async function markRead() {
  if (document.visibilityState !== "visible") return;
  await fetch(`${api}/read`, {
    method: "POST",
    headers: { "Content-Type": "application/json", "X-CSRFToken": csrf },
    body: JSON.stringify({ seq: lastSeq }),
  }).catch(() => {});
}

async function flush() {
  while (outbox.length) {
    const next = outbox[0];
    let response;
    try {
      response = await fetch(`${api}/messages`, {
        method: "POST",
        headers: { "Content-Type": "application/json", "X-CSRFToken": csrf },
        body: JSON.stringify({ text: next.text, client_id: next.clientId }),
      });
    } catch {
      // Offline: keep it, and try again soon (or as soon as the browser says the line is back).
      connectionLine.hidden = false;
      setTimeout(flush, 3000);
      return;
    }
    connectionLine.hidden = socket?.readyState === WebSocket.OPEN;
    outbox.shift();
    const body = await response.json();
    if (response.ok) {
      add(body);
    } else {
      const pending = document.getElementById(`pending-${next.clientId}`);
      if (pending) {
        pending.classList.add("failed");
        pending.querySelector(".bubble-time").textContent = body.message || "Not sent";
      }
    }
  }
}

function connect() {
  const scheme = location.protocol === "https:" ? "wss" : "ws";
  socket = new WebSocket(`${scheme}://${location.host}/ws/`);
  socket.addEventListener("message", (event) => {
    const data = JSON.parse(event.data);
    if (data.type === "auth.ok") {
      retry = 0;
      connectionLine.hidden = true;
      socket.send(JSON.stringify({ type: "resume", conversation_id: conversationId, after: lastSeq }));
      flush();
    } else if (data.type === "message.new" && data.conversation_id === conversationId) {
      add(data.message);
    } else if (data.type === "typing" && data.conversation_id === conversationId) {
      typingLine.textContent = `${data.username} is typing…`;
      typingLine.hidden = false;
      clearTimeout(typingTimer);
      typingTimer = setTimeout(() => (typingLine.hidden = true), 4000);
    } else if (data.type === "conversation.accepted" && data.conversation_id === conversationId) {
      document.getElementById("waiting")?.remove();
    } else if (data.type === "read" && data.conversation_id === conversationId && data.username !== me) {
      othersRead = Math.max(othersRead, data.seq);
      showReadState();
    } else if (data.type === "message.new" || data.type === "conversation.request") {
      document.body.dispatchEvent(new Event("same:unread"));
    }
  });
  socket.addEventListener("close", () => {
    connectionLine.hidden = false;
    retry = Math.min(retry + 1, 6);
    setTimeout(connect, 300 * 2 ** retry);
  });
}

form.addEventListener("submit", (event) => {
  event.preventDefault();
  const text = input.value.trim();
  if (!text) return;
  const clientId = crypto.randomUUID();
  const pending = bubble({ seq: 0, sender: { username: me }, text, created_at: new Date().toISOString() });
  pending.id = `pending-${clientId}`;
  pending.classList.add("pending");
  list.append(pending);
  scrollDown();
  input.value = "";
  outbox.push({ text, clientId });
  flush();
});

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

window.addEventListener("online", flush);
showReadState();
scrollDown();
connect();
