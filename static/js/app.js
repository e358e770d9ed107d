// Small progressive touches; every page works without them.

// Sign-up: detect the browser's time zone, so punch-in days are the person's own days.
for (const input of document.querySelectorAll("input[data-detect-timezone]")) {
  try {
    const zone = Intl.DateTimeFormat().resolvedOptions().timeZone;
    if (zone && !input.value) input.value = zone;
  } catch {
    // Older browsers: the server falls back to UTC and the person can change it under Me.
  }
}


// The installable app: a service worker keeps the shell (never personal data; core/pwa.py). When a new
// version is waiting, a quiet bar offers to reload; the page reloads once, after the new worker took over.
if ("serviceWorker" in navigator) {
  const bar = document.querySelector("[data-update-bar]");
  let reloading = false;
  let askedToReload = false;

  const offer = (worker) => {
    if (!bar || !worker || !navigator.serviceWorker.controller) return; // the first install needs no reload
    bar.hidden = false;
    bar.querySelector("button").onclick = () => {
      askedToReload = true;
      bar.querySelector("button").disabled = true;
      worker.postMessage({ type: "skip-waiting" });
    };
  };

  navigator.serviceWorker.addEventListener("controllerchange", () => {
    if (!askedToReload || reloading) return;
    reloading = true;
    location.reload();
  });

  navigator.serviceWorker
    .register("/sw.js", { scope: "/" })
    .then((registration) => {
      if (registration.waiting) offer(registration.waiting);
      registration.addEventListener("updatefound", () => {
        const installing = registration.installing;
        if (!installing) return;
        installing.addEventListener("statechange", () => {
          if (installing.state === "installed") offer(installing);
        });
      });
    })
    .catch(() => {
      // No worker (a private window, an old browser): the site works as before, without the offline page.
    });
}
