// Uploads through tus (tus-js-client): per-file progress, resume after a network error or a
// page reload (the upload URL is kept in localStorage under a fingerprint), and the
// server's own message when it refuses a file (too large, over quota…).
(function () {
  "use strict";

  const csrf = document.querySelector('meta[name="csrf-token"]').content;
  const config = JSON.parse(document.getElementById("files-config").textContent);
  const input = document.getElementById("upload-input");
  const list = document.getElementById("upload-list");
  const section = document.getElementById("uploads");
  const CHUNK = 16 * 1024 * 1024;

  function human(n) {
    const units = ["bytes", "KiB", "MiB", "GiB", "TiB"];
    let i = 0;
    while (n >= 1024 && i < units.length - 1) { n /= 1024; i++; }
    return i === 0 ? `${n} bytes` : `${n.toFixed(1)} ${units[i]}`;
  }

  function serverMessage(err) {
    const resp = err && err.originalResponse;
    if (resp) {
      const status = resp.getStatus();
      try {
        const data = JSON.parse(resp.getBody());
        if (data && data.message) return data.message;
      } catch (e) { /* not JSON */ }
      if (status === 413) return "This file is too large for your plan or your storage quota.";
      if (status === 401 || status === 403) return "Your session has expired: reload the page and log in.";
      if (status) return `The server refused the upload (${status}).`;
    }
    if (!navigator.onLine) return "You are offline.";
    return "The upload failed: the server could not be reached.";
  }

  function makeRow(file) {
    const li = document.createElement("li");
    li.className = "upload-item";
    const name = document.createElement("span");
    name.className = "up-name";
    name.textContent = file.name;
    const bar = document.createElement("progress");
    bar.max = 100;
    bar.value = 0;
    bar.setAttribute("aria-label", `Upload progress of ${file.name}`);
    const info = document.createElement("span");
    info.className = "up-info";
    info.textContent = `Waiting… (${human(file.size)})`;
    const btn = document.createElement("button");
    btn.type = "button";
    btn.className = "secondary small";
    btn.textContent = "Cancel";
    btn.setAttribute("aria-label", `Cancel the upload of ${file.name}`);
    li.append(name, bar, info, btn);
    list.append(li);
    section.hidden = false;
    return { li, bar, info, btn };
  }

  function upload(file) {
    const row = makeRow(file);
    const metadata = { filename: file.name, filetype: file.type || "application/octet-stream" };
    if (config.folder != null) metadata.folder = String(config.folder);
    let state = "running";

    const up = new tus.Upload(file, {
      endpoint: "/api/v1/uploads",
      headers: { "X-CSRF-Token": csrf },
      metadata,
      chunkSize: CHUNK,
      retryDelays: [0, 1000, 3000, 5000, 10000, 20000],
      storeFingerprintForResuming: true,
      removeFingerprintOnSuccess: true,
      // Same file into another folder or from another account is another upload.
      fingerprint: (f) => Promise.resolve(["partage", config.user, config.folder ?? "root",
        f.name, f.type, f.size, f.lastModified].join("|")),
      onProgress(sent, total) {
        const pct = total ? Math.floor((sent / total) * 100) : 0;
        row.bar.value = pct;
        row.info.textContent = `${pct}% · ${human(sent)} of ${human(total)}`;
      },
      onSuccess(payload) {
        state = "done";
        row.bar.value = 100;
        row.li.classList.add("done");
        const code = payload && payload.lastResponse &&
          payload.lastResponse.getHeader("Partage-File-Code");
        row.info.textContent = "";
        if (code) {
          const a = document.createElement("a");
          a.href = `/${code}`;
          a.textContent = `Done: /${code}`;
          row.info.append(a);
        } else {
          row.info.textContent = "Done";
        }
        row.btn.remove();
        if (window.partageRefresh) window.partageRefresh();
      },
      onError(err) {
        state = "failed";
        row.li.classList.add("failed");
        row.info.textContent = serverMessage(err);
        row.info.setAttribute("role", "alert");
        const status = err && err.originalResponse ? err.originalResponse.getStatus() : 0;
        if (status >= 400 && status < 500 && status !== 409 && status !== 423) {
          row.li.classList.add("finished");
          row.btn.remove();  // refused for good: retrying would not help
          return;
        }
        row.btn.textContent = "Retry";
        row.btn.setAttribute("aria-label", `Retry the upload of ${file.name}`);
        if (!navigator.onLine) {
          row.info.textContent = "Offline: the upload resumes when the network is back.";
          window.addEventListener("online", resume, { once: true });
        }
      },
    });

    function resume() {
      if (state !== "failed" && state !== "paused") return;
      state = "running";
      row.li.classList.remove("failed");
      row.info.removeAttribute("role");
      row.info.textContent = "Resuming…";
      row.btn.textContent = "Cancel";
      row.btn.setAttribute("aria-label", `Cancel the upload of ${file.name}`);
      up.start();  // HEAD asks the server where it stopped, then sends the rest
    }

    row.btn.addEventListener("click", () => {
      if (state === "running") {
        state = "cancelled";
        up.abort(true).catch(() => {});  // true: also deletes the upload on the server
        row.li.classList.add("failed", "finished");
        row.info.textContent = "Cancelled";
        row.btn.remove();
      } else {
        resume();
      }
    });

    up.findPreviousUploads().then((previous) => {
      if (previous.length) {
        up.resumeFromPreviousUpload(previous[0]);
        row.info.textContent = "Resuming a previous upload…";
      }
      up.start();
    });
  }

  if (typeof tus === "undefined" || !tus.isSupported) {
    input.disabled = true;
    const note = document.getElementById("status");
    note.textContent = "Uploading is unavailable: the upload library did not load " +
      "(the operator may need to run scripts/build-assets).";
    return;
  }

  document.getElementById("clear-uploads").addEventListener("click", () => {
    for (const li of list.querySelectorAll(".upload-item.done, .upload-item.finished")) {
      li.remove();
    }
    if (!list.children.length) section.hidden = true;
  });

  input.addEventListener("change", () => {
    for (const file of input.files) upload(file);
    input.value = "";
  });
})();
