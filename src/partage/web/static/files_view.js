// "My files" views: list or grid (kept in localStorage), thumbnails in the grid, the
// details panel of a file, and the folder tree folded away on phones.
(function () {
  "use strict";
  const P = window.partageFiles;
  const { t, api, human } = P;
  const KEY = "partage.files.view";

  // -- list / grid ------------------------------------------------------------------------------

  function currentView() {
    try { return localStorage.getItem(KEY) === "grid" ? "grid" : "list"; } catch (e) { return "list"; }
  }

  function applyView() {
    const view = currentView();
    const listing = document.getElementById("listing");
    listing.classList.toggle("grid", view === "grid");
    for (const b of document.querySelectorAll("[data-view]")) {
      b.setAttribute("aria-pressed", String(b.dataset.view === view));
    }
    if (view === "grid") watchThumbs();
  }

  document.addEventListener("click", (ev) => {
    const b = ev.target.closest("[data-view]");
    if (!b) return;
    try { localStorage.setItem(KEY, b.dataset.view); } catch (e) { /* private mode */ }
    applyView();
  });
  document.addEventListener("partage:refreshed", applyView);

  // -- thumbnails: the media poster of videos and images, else the image through the
  // owner's link; fetched only for rows that scroll into view ----------------------------------

  const thumbs = new Map(); // code -> URL or "" (none), kept across refreshes
  let observer = null;

  async function thumbFor(tr) {
    const code = tr.dataset.code;
    if (!thumbs.has(code)) {
      let url = "";
      try {
        const media = await api("GET", `/api/v1/files/${code}/media`);
        url = media.poster_small || "";
        if (!url && tr.dataset.kind === "image") {
          url = (await api("GET", `/api/v1/files/${code}`)).download_url || "";
        }
      } catch (e) { /* the type icon stays */ }
      thumbs.set(code, url);
    }
    const url = thumbs.get(code);
    const cell = tr.querySelector("td.thumb");
    if (!url || !cell || cell.querySelector("img")) return;
    const img = document.createElement("img");
    img.alt = "";
    img.loading = "lazy";
    img.src = url;
    img.addEventListener("error", () => img.remove());
    cell.append(img);
    cell.classList.add("has-img");
  }

  function watchThumbs() {
    if (observer) observer.disconnect();
    observer = new IntersectionObserver((entries) => {
      for (const e of entries) {
        if (e.isIntersecting) { observer.unobserve(e.target); thumbFor(e.target); }
      }
    }, { rootMargin: "200px" });
    for (const tr of document.querySelectorAll(
      '#listing tr.file[data-kind="image"], #listing tr.file[data-kind="video"]')) {
      observer.observe(tr);
    }
  }

  // -- details panel --------------------------------------------------------------------------

  const panel = document.getElementById("details");
  let opener = null;

  function when(iso) {
    return iso ? new Date(iso).toLocaleString() : t("never");
  }

  function mediaState(m) {
    if (!m || m.state === "not_media") return t("media_none");
    if (m.state === "done") return t("media_done");
    if (m.state === "failed") return t("media_failed", { error: m.error || "" });
    if (m.state === "running") return t("media_running", { pct: Math.round(m.progress || 0) });
    return t("media_pending");
  }

  async function showDetails(tr) {
    opener = document.activeElement;
    const code = tr.dataset.code;
    const set = (id, text) => { document.getElementById(id).textContent = text; };
    for (const id of ["d-name", "d-size", "d-type", "d-sha256", "d-downloads", "d-last",
      "d-created", "d-link", "d-media"]) set(id, "…");
    document.getElementById("details-thumb").replaceChildren();
    panel.hidden = false;
    panel.focus();
    try {
      const f = await api("GET", `/api/v1/files/${code}`);
      set("d-name", f.name);
      set("d-size", f.size < 1024 ? human(f.size)
        : `${human(f.size)} (${t("n_bytes", { n: f.size.toLocaleString() })})`);
      set("d-type", f.mime || "");
      set("d-sha256", f.sha256 || "");
      set("d-downloads", String(f.downloads));
      set("d-last", when(f.last_download));
      set("d-created", when(f.created));
      const a = document.createElement("a");
      a.href = f.url;
      a.textContent = f.url;
      document.getElementById("d-link").replaceChildren(a);
      let media = null;
      try { media = await api("GET", `/api/v1/files/${code}/media`); } catch (e) { /* none */ }
      set("d-media", mediaState(media));
      if (media && media.poster_small) {
        const img = document.createElement("img");
        img.alt = "";
        img.src = media.poster_small;
        document.getElementById("details-thumb").append(img);
      }
    } catch (e) {
      set("d-name", e.message);
    }
  }

  function closeDetails() {
    panel.hidden = true;
    if (opener && document.contains(opener)) opener.focus();
  }

  panel.tabIndex = -1;
  document.addEventListener("click", (ev) => {
    const b = ev.target.closest("[data-action]");
    if (!b) return;
    if (b.dataset.action === "details") showDetails(b.closest("tr"));
    if (b.dataset.action === "close-details") closeDetails();
  });
  panel.addEventListener("keydown", (ev) => {
    if (ev.key === "Escape") closeDetails();
  });

  // -- the tree starts folded on phones -------------------------------------------------------

  if (window.matchMedia("(max-width: 700px)").matches) {
    const box = document.querySelector("#folder-tree .tree-box");
    if (box) box.open = false;
  }

  applyView();
})();
