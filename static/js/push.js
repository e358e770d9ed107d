// Me → Notifications: turn web push on or off for this browser. Permission is asked only when the person
// taps "Turn on"; the subscription goes to /api/v1/push/subscriptions (the same door a native app uses).
const root = document.querySelector("[data-push]");
const csrf = JSON.parse(document.body.getAttribute("hx-headers") || "{}")["X-CSRFToken"] || "";

function base64UrlToBytes(text) {
  const padded = (text + "===".slice((text.length + 3) % 4)).replace(/-/g, "+").replace(/_/g, "/");
  return Uint8Array.from(atob(padded), (c) => c.charCodeAt(0));
}

async function send(method, body) {
  const response = await fetch("/api/v1/push/subscriptions", {
    method,
    headers: { "Content-Type": "application/json", "X-CSRFToken": csrf },
    body: JSON.stringify(body),
  });
  if (!response.ok) throw new Error(`push subscription: ${response.status}`);
}

async function start() {
  const supported = "serviceWorker" in navigator && "PushManager" in window && "Notification" in window;
  if (!supported) {
    document.querySelector("[data-push-unsupported]").hidden = false;
    return;
  }
  const button = root.querySelector("[data-push-toggle]");
  const status = root.querySelector("[data-push-status]");
  const show = (state) => {
    const on = state === "on";
    button.setAttribute("aria-pressed", String(on));
    button.textContent = on ? root.dataset.labelOn : root.dataset.labelOff;
    button.disabled = state === "blocked";
    status.textContent = root.dataset[`status${state[0].toUpperCase()}${state.slice(1)}`];
    root.dataset.state = state;
  };
  root.hidden = false;
  const registration = await navigator.serviceWorker.ready;
  const current = await registration.pushManager.getSubscription();
  if (Notification.permission === "denied") show("blocked");
  else show(current && Notification.permission === "granted" ? "on" : "off");

  button.addEventListener("click", async () => {
    button.disabled = true;
    try {
      const existing = await registration.pushManager.getSubscription();
      if (root.dataset.state === "on") {
        if (existing) {
          await send("DELETE", { endpoint: existing.endpoint });
          await existing.unsubscribe();
        }
        show("off");
        return;
      }
      const permission = await Notification.requestPermission();
      if (permission !== "granted") {
        show(permission === "denied" ? "blocked" : "off");
        return;
      }
      const key = await fetch("/api/v1/push/key").then((r) => r.json());
      const subscription =
        existing ||
        (await registration.pushManager.subscribe({
          userVisibleOnly: true,
          applicationServerKey: base64UrlToBytes(key.public_key),
        }));
      await send("POST", subscription.toJSON());
      show("on");
    } catch {
      show("failed");
      button.disabled = false;
    } finally {
      if (root.dataset.state !== "blocked") button.disabled = false;
    }
  });
}

if (root) start();
