// The upload queue (tus-js-client): per-file and total progress, speed and time left,
// pause / resume / cancel, resume after a network error or a page reload (the upload URL
// is kept in localStorage under a fingerprint), and the server's own message when it
// refuses a file (too large, over quota, blocked content). upload_drop.js feeds it folders.
(function () {
  "use strict";
  const P = window.partageFiles;
  const { t, human, duration, config, csrf } = P;
  const list = document.getElementById("upload-list");
  const section = document.getElementById("uploads");
  const totalBar = document.getElementById("upload-total-bar");
  const totalText = document.getElementById("upload-total");
  const CHUNK = 16 * 1024 * 1024;
  const PARALLEL = 3;
  const WINDOW_MS = 5000; // speed is measured over the last seconds
  const items = [];

  // -- messages ------------------------------------------------------------------------------

  function serverMessage(err) {
    const resp = err && err.originalResponse;
    if (resp) {
      const status = resp.getStatus();
      try {
        const data = JSON.parse(resp.getBody());
        if (data && data.message) return data.message;
      } catch (e) { /* not JSON */ }
      if (status === 413) return t("too_large");
      if (status === 401 || status === 403) return t("session_expired");
      if (status) return t("refused", { status });
    }
    if (!navigator.onLine) return t("offline");
    return t("upload_failed");
  }

  // -- the rows ------------------------------------------------------------------------------

  function button(label, aria) {
    const b = document.createElement("button");
    b.type = "button";
    b.className = "secondary small";
    b.textContent = label;
    b.setAttribute("aria-label", aria);
    return b;
  }

  function makeRow(item) {
    const li = document.createElement("li");
    li.className = "upload-item";
    const name = document.createElement("span");
    name.className = "up-name";
    name.textContent = item.label;
    name.title = item.label;
    const bar = document.createElement("progress");
    bar.max = 100;
    bar.value = 0;
    bar.setAttribute("aria-label", t("progress_of", { name: item.label }));
    const info = document.createElement("span");
    info.className = "up-info";
    info.textContent = t("waiting", { size: human(item.file.size) });
    const pause = button(t("pause"), t("pause_of", { name: item.label }));
    pause.dataset.role = "pause";
    const cancel = button(t("cancel"), t("cancel_of", { name: item.label }));
    const btns = document.createElement("span");
    btns.className = "up-buttons";
    btns.append(pause, cancel);
    li.append(name, bar, info, btns);
    list.append(li);
    section.hidden = false;
    pause.addEventListener("click", () => (item.state === "running" ? doPause(item) : doResume(item)));
    cancel.addEventListener("click", () => doCancel(item));
    return { li, bar, info, pause, cancel };
  }

  function setPauseButton(item, kind) {
    const b = item.row.pause;
    b.textContent = t(kind);
    b.setAttribute("aria-label", t(`${kind}_of`, { name: item.label }));
  }

  function finish(item, state) {
    item.state = state;
    item.row.li.classList.add("finished");
    item.row.pause.remove();
    item.row.cancel.remove();
    pump();
    updateTotal();
  }

  // -- progress, speed, time left ---------------------------------------------------------------

  function speedOf(item) {
    const s = item.samples;
    if (item.state !== "running" || s.length < 2) return 0;
    const [t0, b0] = s[0];
    const [t1, b1] = s[s.length - 1];
    return t1 > t0 ? ((b1 - b0) * 1000) / (t1 - t0) : 0;
  }

  function onProgress(item, sent, total) {
    const now = performance.now();
    item.sent = sent;
    item.samples.push([now, sent]);
    while (item.samples.length > 2 && now - item.samples[0][0] > WINDOW_MS) item.samples.shift();
    const pct = total ? Math.floor((sent / total) * 100) : 0;
    item.row.bar.value = pct;
    const speed = speedOf(item);
    const parts = [t("sent_of", { pct, sent: human(sent), total: human(total) })];
    if (speed > 0) {
      parts.push(t("speed", { speed: human(speed) }));
      parts.push(t("left", { time: duration((total - sent) / speed) }));
    }
    item.row.info.textContent = parts.join(" · ");
    updateTotal();
  }

  function updateTotal() {
    const live = items.filter((i) => i.state !== "cancelled" && i.state !== "refused");
    if (!live.length) {
      totalBar.value = 0;
      totalText.textContent = "";
      return;
    }
    const size = live.reduce((a, i) => a + i.file.size, 0);
    const sent = live.reduce((a, i) => a + (i.state === "done" ? i.file.size : i.sent), 0);
    const done = live.filter((i) => i.state === "done").length;
    const speed = live.reduce((a, i) => a + speedOf(i), 0);
    const pct = size ? Math.floor((sent / size) * 100) : 100;
    totalBar.value = pct;
    const parts = [t("total_files", { done, count: live.length }), `${pct}%`];
    if (speed > 0 && done < live.length) {
      parts.push(t("speed", { speed: human(speed) }));
      parts.push(t("left", { time: duration((size - sent) / speed) }));
    }
    totalText.textContent = parts.join(" · ");
  }

  // -- the queue -----------------------------------------------------------------------------

  let refreshTimer = null;
  function refreshSoon() {
    clearTimeout(refreshTimer);
    refreshTimer = setTimeout(() => P.refresh && P.refresh(), 300);
  }

  function makeUpload(item) {
    const metadata = { filename: item.file.name,
      filetype: item.file.type || "application/octet-stream" };
    if (item.folder != null) metadata.folder = String(item.folder);
    return new tus.Upload(item.file, {
      endpoint: "/api/v1/uploads",
      headers: { "X-CSRF-Token": csrf },
      metadata,
      chunkSize: CHUNK,
      retryDelays: [0, 1000, 3000, 5000, 10000, 20000],
      storeFingerprintForResuming: true,
      removeFingerprintOnSuccess: true,
      // Same file into another folder or from another account is another upload.
      fingerprint: () => Promise.resolve(item.fp),
      onProgress: (sent, total) => onProgress(item, sent, total),
      onSuccess: (payload) => onSuccess(item, payload),
      onError: (err) => onError(item, err),
    });
  }

  function onSuccess(item, payload) {
    item.row.bar.value = 100;
    item.row.li.classList.add("done");
    const code = payload && payload.lastResponse &&
      payload.lastResponse.getHeader("Partage-File-Code");
    item.row.info.textContent = "";
    if (code) {
      const a = document.createElement("a");
      a.href = `/${code}`;
      a.textContent = t("done_link", { code });
      item.row.info.append(a);
    } else {
      item.row.info.textContent = t("done");
    }
    finish(item, "done");
    refreshSoon();
  }

  function onError(item, err) {
    if (item.state !== "running") return;
    const row = item.row;
    row.li.classList.add("failed");
    row.info.textContent = serverMessage(err);
    row.info.setAttribute("role", "alert");
    const status = err && err.originalResponse ? err.originalResponse.getStatus() : 0;
    if (status >= 400 && status < 500 && status !== 409 && status !== 423) {
      finish(item, "refused"); // refused for good: retrying would not help
      return;
    }
    item.state = "failed";
    item.samples = [];
    setPauseButton(item, "retry");
    pump();
    if (!navigator.onLine) {
      row.info.textContent = t("offline_wait");
      window.addEventListener("online", () => doResume(item), { once: true });
    }
  }

  function run(item) {
    item.state = "running";
    item.row.info.textContent = t("starting");
    item.up = makeUpload(item);
    item.up.findPreviousUploads().then((previous) => {
      if (item.state !== "running") return;
      if (previous.length) {
        item.up.resumeFromPreviousUpload(previous[0]);
        item.row.info.textContent = t("resuming_previous");
      }
      item.up.start();
      showInterrupted();
    });
  }

  function pump() {
    let running = items.filter((i) => i.state === "running").length;
    for (const item of items) {
      if (running >= PARALLEL) break;
      if (item.state === "waiting") { run(item); running++; }
    }
  }

  function doPause(item) {
    item.state = "paused";
    item.samples = [];
    item.up.abort(false); // keeps the upload on the server and its URL for resuming
    item.row.info.textContent = t("paused", { pct: item.row.bar.value });
    setPauseButton(item, "resume");
    pump();
    updateTotal();
  }

  function doResume(item) {
    if (item.state !== "failed" && item.state !== "paused") return;
    item.state = "running";
    item.row.li.classList.remove("failed");
    item.row.info.removeAttribute("role");
    item.row.info.textContent = t("resuming");
    setPauseButton(item, "pause");
    item.up.start(); // HEAD asks the server where it stopped, then sends the rest
  }

  function doCancel(item) {
    const started = item.up != null;
    item.state = "cancelled";
    if (started) item.up.abort(true).catch(() => {}); // true: also deletes it on the server
    item.row.li.classList.add("failed");
    item.row.info.textContent = t("cancelled");
    finish(item, "cancelled");
  }

  // enqueue(file, folderId, label): label shows the path inside a dropped folder.
  function enqueue(file, folder, label) {
    const item = { file, folder: folder === undefined ? config.folder : folder,
      label: label || file.name, state: "waiting", sent: 0, samples: [], up: null };
    // Same file into another folder or from another account is another upload.
    item.fp = ["partage", config.user, item.folder ?? "root", file.name, file.type, file.size,
      file.lastModified].join("|");
    item.row = makeRow(item);
    items.push(item);
    pump();
    showInterrupted();
    updateTotal();
    return item;
  }
  P.enqueue = enqueue;

  // -- uploads left unfinished by an earlier page ---------------------------------------------

  const prefix = `tus::partage|${config.user}|`;
  function unfinished() {
    const out = [];
    try {
      for (const key of Object.keys(localStorage)) {
        if (!key.startsWith(prefix)) continue;
        try { out.push({ key, ...JSON.parse(localStorage.getItem(key)) }); } catch (e) { /* skip */ }
      }
    } catch (e) { /* storage disabled */ }
    return out;
  }

  function showInterrupted() {
    const box = document.getElementById("interrupted");
    const ul = document.getElementById("interrupted-list");
    const left = unfinished().filter((u) => !items.some((i) => u.key.startsWith(`tus::${i.fp}::`)));
    ul.replaceChildren(...left.map((u) => {
      const li = document.createElement("li");
      const name = (u.metadata && u.metadata.filename) || "?";
      li.textContent = t("interrupted_item", { name, size: human(u.size || 0) });
      return li;
    }));
    box.hidden = !left.length;
  }

  document.getElementById("forget-interrupted").addEventListener("click", () => {
    for (const u of unfinished()) localStorage.removeItem(u.key);
    showInterrupted();
  });

  // -- wiring --------------------------------------------------------------------------------

  const inputs = [document.getElementById("upload-input"),
    document.getElementById("upload-folder-input")];
  if (typeof tus === "undefined" || !tus.isSupported) {
    for (const i of inputs) i.disabled = true;
    P.say(t("no_tus"), true);
    P.enqueue = null;
    return;
  }

  document.getElementById("clear-uploads").addEventListener("click", () => {
    for (let i = items.length - 1; i >= 0; i--) {
      if (["done", "refused", "cancelled"].includes(items[i].state)) {
        items[i].row.li.remove();
        items.splice(i, 1);
      }
    }
    if (!list.children.length) section.hidden = true;
    updateTotal();
  });

  inputs[0].addEventListener("change", () => {
    for (const file of inputs[0].files) enqueue(file);
    inputs[0].value = "";
  });

  showInterrupted();
})();
