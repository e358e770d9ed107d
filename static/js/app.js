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

