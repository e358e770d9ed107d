// The offline page: "Try again" reloads the page the person asked for (the URL did not change), and
// coming back online retries on its own, a moment later: a phone reports "online" before its connection
// carries requests. Without this script, the form asks for the same address again.
const form = document.querySelector("form[data-retry]");
if (form) {
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    location.reload();
  });
}
window.addEventListener("online", () => setTimeout(() => location.reload(), 1000));
