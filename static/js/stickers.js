// Tap a sticker to hear its voice (one at a time). While it plays, the sticker carries the class "playing".
let playing = null;

export function hear(url, tile = null) {
  if (playing) {
    playing.audio.pause();
    playing.tile?.classList.remove("playing");
  }
  const audio = new Audio(url);
  playing = { audio, tile };
  audio.addEventListener("playing", () => tile?.classList.add("playing"));
  for (const done of ["ended", "pause", "error"]) audio.addEventListener(done, () => tile?.classList.remove("playing"));
  audio.play().catch(() => {});
  return audio;
}

document.addEventListener("click", (event) => {
  const tile = event.target.closest("[data-audio]");
  if (tile) hear(tile.dataset.audio, tile);
});
