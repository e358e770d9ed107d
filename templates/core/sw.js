// same's service worker (served by core.pwa at /sw.js). It keeps the app shell, never personal data:
// - static files: cache first (their URLs change with their contents in production);
// - page navigations: network first, the offline page when the network fails; pages are never stored;
// - everything else (the API, media, chat files, the socket, htmx fragments): not touched at all.
const CONFIG = {{ config|safe }};
const CACHE = `same-shell-${CONFIG.version}`;

self.addEventListener("install", (event) => {
  // `credentials: "omit"`: the offline page is fetched as nobody, so no session can shape it.
  const requests = [CONFIG.offline, ...CONFIG.precache].map((url) => new Request(url, { credentials: "omit" }));
  event.waitUntil(caches.open(CACHE).then((cache) => cache.addAll(requests)));
  // No skipWaiting here: a new version waits until the person taps "Reload" (see app.js).
});

self.addEventListener("activate", (event) => {
  event.waitUntil(
    (async () => {
      for (const name of await caches.keys()) {
        if (name.startsWith("same-shell-") && name !== CACHE) await caches.delete(name);
      }
      await self.clients.claim();
    })(),
  );
});

self.addEventListener("message", (event) => {
  if (event.data && event.data.type === "skip-waiting") self.skipWaiting();
});

function isStatic(url) {
  return url.origin === self.location.origin && url.pathname.startsWith(CONFIG.static);
}

async function staticFirst(request) {
  const cache = await caches.open(CACHE);
  const hit = await cache.match(request, { ignoreVary: true });
  if (hit) return hit;
  const response = await fetch(request);
  // Only whole, successful, same-origin answers; a range request (audio) is left to the network.
  if (response.ok && response.status === 200 && response.type === "basic") {
    await cache.put(request, response.clone());
  }
  return response;
}

async function networkFirst(request) {
  try {
    return await fetch(request);
  } catch (error) {
    const cache = await caches.open(CACHE);
    const offline = await cache.match(CONFIG.offline);
    if (offline) return offline;
    throw error;
  }
}

self.addEventListener("fetch", (event) => {
  const request = event.request;
  if (request.method !== "GET") return;
  const url = new URL(request.url);
  if (request.mode === "navigate") {
    event.respondWith(networkFirst(request));
  } else if (isStatic(url) && !request.headers.has("range")) {
    event.respondWith(staticFirst(request));
  }
});

// Web push: the server sends only what the app would show anyway ("New message request"), never content.
self.addEventListener("push", (event) => {
  let data = {};
  try {
    data = event.data ? event.data.json() : {};
  } catch {
    data = {};
  }
  const title = data.title || "same";
  event.waitUntil(
    self.registration.showNotification(title, {
      body: data.body || "",
      tag: data.tag || undefined,
      renotify: Boolean(data.tag),
      icon: data.icon || undefined,
      badge: data.badge || undefined,
      data: { url: data.url || "/" },
    }),
  );
});

self.addEventListener("notificationclick", (event) => {
  event.notification.close();
  const target = new URL((event.notification.data && event.notification.data.url) || "/", self.location.origin);
  if (target.origin !== self.location.origin) return;
  event.waitUntil(
    (async () => {
      const windows = await self.clients.matchAll({ type: "window", includeUncontrolled: true });
      for (const client of windows) {
        if (new URL(client.url).origin === target.origin && "focus" in client) {
          await client.focus();
          if ("navigate" in client) await client.navigate(target.href);
          return;
        }
      }
      await self.clients.openWindow(target.href);
    })(),
  );
});
