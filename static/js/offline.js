// The offline page: "Try again" reloads the page the person asked for (the URL did not change), and
// coming back online retries on its own. Without this script, the form reloads the same address.
const form = document.querySelector("form[data-retry]");
if (form) {
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    location.reload();
  });
}
window.addEventListener("online", () => location.reload());
