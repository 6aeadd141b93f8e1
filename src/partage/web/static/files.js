// "My files": rename, move, delete, link options and folders through the JSON API.
// The list itself is rendered by the server; after a change we fetch the page again
// and swap #listing, so there is one source of truth and reading works without JS.
(function () {
  "use strict";
  document.documentElement.classList.add("js");

  const csrf = document.querySelector('meta[name="csrf-token"]').content;
  const config = JSON.parse(document.getElementById("files-config").textContent);
  const statusEl = document.getElementById("status");

  // -- the API ------------------------------------------------------------------------------

  async function api(method, path, body) {
    const init = { method, credentials: "same-origin",
      headers: { "X-CSRF-Token": csrf, Accept: "application/json" } };
    if (body !== undefined) {
      init.headers["Content-Type"] = "application/json";
      init.body = JSON.stringify(body);
    }
    let resp;
    try {
      resp = await fetch(path, init);
    } catch (e) {
      throw new Error("The server could not be reached: check your connection and try again.");
    }
    if (resp.ok) return resp.status === 204 ? null : resp.json().catch(() => null);
    throw new Error(await errorMessage(resp));
  }

  async function errorMessage(resp) {
    try {
      const data = await resp.json();
      if (data && data.message) return data.message;
      if (data && typeof data.detail === "string") return data.detail;
    } catch (e) { /* not JSON */ }
    return `The server answered ${resp.status} ${resp.statusText}.`;
  }

  const folderId = (v) => (v === "" || v == null ? null : Number(v));
  const API = {
    renameFile: (code, name) => api("PATCH", `/api/v1/files/${code}`, { name }),
    moveFile: (code, folder) => api("PATCH", `/api/v1/files/${code}`, { folder_id: folder }),
    linkOptions: (code, opts) => api("PATCH", `/api/v1/files/${code}`, opts),
    deleteFile: (code) => api("DELETE", `/api/v1/files/${code}`),
    bulk: (action, codes, folder) =>
      api("POST", "/api/v1/files/bulk", { action, codes, folder_id: folder }),
    createFolder: (name, parent) => api("POST", "/api/v1/folders", { name, parent_id: parent }),
    renameFolder: (id, name) => api("PATCH", `/api/v1/folders/${id}`, { name }),
    moveFolder: (id, parent) => api("PATCH", `/api/v1/folders/${id}`, { parent_id: parent }),
    deleteFolder: (id) => api("DELETE", `/api/v1/folders/${id}?force=true`),
  };

  // -- refreshing the list ------------------------------------------------------------------

  function say(text, isError) {
    statusEl.textContent = text;
    statusEl.classList.toggle("error", Boolean(isError));
  }

  async function refresh() {
    const resp = await fetch(location.href, { credentials: "same-origin",
      headers: { Accept: "text/html" } });
    if (!resp.ok) return;
    const doc = new DOMParser().parseFromString(await resp.text(), "text/html");
    for (const id of ["listing", "quota", "move-target"]) {
      const fresh = doc.getElementById(id);
      const old = document.getElementById(id);
      if (fresh && old) old.replaceWith(fresh);
    }
    updateBulk();
  }
  window.partageRefresh = refresh;

  // -- dialogs ------------------------------------------------------------------------------

  let opener = null;

  function openDialog(id, onSubmit) {
    const dlg = document.getElementById(id);
    const err = dlg.querySelector(".dlg-error");
    err.hidden = true;
    opener = document.activeElement;
    dlg.onsubmit = async (ev) => {
      ev.preventDefault();
      const submit = dlg.querySelector('button[type="submit"]');
      submit.disabled = true;
      try {
        const done = await onSubmit(dlg);
        dlg.close();
        await refresh();
        if (done) say(done);
      } catch (e) {
        err.textContent = e.message;
        err.hidden = false;
      } finally {
        submit.disabled = false;
      }
    };
    dlg.showModal();
    return dlg;
  }

  document.addEventListener("click", (ev) => {
    if (ev.target.matches("dialog [data-close]")) ev.target.closest("dialog").close();
  });
  document.addEventListener("close", (ev) => {
    if (ev.target.tagName === "DIALOG" && opener && document.contains(opener)) opener.focus();
  }, true);

  // -- actions ------------------------------------------------------------------------------

  function rowOf(el) {
    const tr = el.closest("tr");
    return { tr, code: tr.dataset.code, id: tr.dataset.folderId, name: tr.dataset.name };
  }

  function rename(row, isFolder) {
    const dlg = openDialog("dlg-rename", async (d) => {
      const name = d.querySelector("#rename-input").value;
      if (isFolder) await API.renameFolder(row.id, name);
      else await API.renameFile(row.code, name);
      return `Renamed to “${name}”.`;
    });
    dlg.querySelector("#dlg-rename-title").textContent =
      isFolder ? `Rename the folder “${row.name}”` : `Rename “${row.name}”`;
    const input = dlg.querySelector("#rename-input");
    input.value = row.name;
    input.focus();
    const dot = isFolder ? -1 : row.name.lastIndexOf(".");
    input.setSelectionRange(0, dot > 0 ? dot : row.name.length);
  }

  function move(row, isFolder, codes) {
    const dlg = openDialog("dlg-move", async (d) => {
      const target = folderId(d.querySelector("#move-target").value);
      if (codes) await API.bulk("move", codes, target);
      else if (isFolder) await API.moveFolder(row.id, target);
      else await API.moveFile(row.code, target);
      return codes ? `${codes.length} file(s) moved.` : `“${row.name}” moved.`;
    });
    dlg.querySelector("#dlg-move-title").textContent =
      codes ? `Move ${codes.length} file(s)` : `Move “${row.name}”`;
    const select = dlg.querySelector("#move-target");
    select.value = config.folder == null ? "" : String(config.folder);
    select.focus();
  }

  function remove(row, isFolder, codes) {
    const dlg = openDialog("dlg-delete", async () => {
      if (codes) await API.bulk("delete", codes);
      else if (isFolder) await API.deleteFolder(row.id);
      else await API.deleteFile(row.code);
      return codes ? `${codes.length} file(s) deleted.` : `“${row.name}” deleted.`;
    });
    dlg.querySelector("#delete-what").textContent = codes
      ? `Delete ${codes.length} selected file(s)? Their links stop working.`
      : isFolder
        ? `Delete the folder “${row.name}” and everything in it? Links to its files stop working.`
        : `Delete “${row.name}”? Its link stops working.`;
    dlg.querySelector('button[type="submit"]').focus();
  }

  function localInput(iso) {
    if (!iso) return "";
    const d = new Date(iso);
    const pad = (n) => String(n).padStart(2, "0");
    return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}T` +
      `${pad(d.getHours())}:${pad(d.getMinutes())}`;
  }

  function linkOptions(row) {
    const ds = row.tr.dataset;
    const dlg = openDialog("dlg-link", async (d) => {
      const opts = { public: d.querySelector("#link-public").checked };
      const pw = d.querySelector("#link-password").value;
      if (d.querySelector("#link-nopass").checked) opts.password = null;
      else if (pw) opts.password = pw;
      const exp = d.querySelector("#link-expires").value;
      opts.expires = exp ? new Date(exp).toISOString() : null;
      const max = d.querySelector("#link-max").value;
      opts.max_downloads = max ? Number(max) : null;
      await API.linkOptions(row.code, opts);
      return `Link options of “${row.name}” saved.`;
    });
    dlg.querySelector("#link-name").textContent = row.name;
    dlg.querySelector("#link-url").value = ds.url;
    dlg.querySelector("#link-public").checked = ds.public === "true";
    dlg.querySelector("#link-password").value = "";
    dlg.querySelector("#link-password-help").textContent = ds.hasPassword === "true"
      ? "The link has a password. Type a new one to change it, or leave empty to keep it."
      : "The link has no password. Type one to protect it.";
    dlg.querySelector("#link-nopass").checked = false;
    dlg.querySelector("#link-nopass-row").hidden = ds.hasPassword !== "true";
    dlg.querySelector("#link-expires").value = localInput(ds.expires);
    dlg.querySelector("#link-max").value = ds.maxDownloads;
    dlg.querySelector("#link-public").focus();
  }

  async function copy(row) {
    const url = row.tr.dataset.url;
    try {
      await navigator.clipboard.writeText(url);
      say(`Link copied: ${url}`);
    } catch (e) {
      say(`Copy this link: ${url}`);
    }
  }

  // -- selection ----------------------------------------------------------------------------

  function selected() {
    return [...document.querySelectorAll("#listing input.pick:checked")].map((c) => c.value);
  }

  function updateBulk() {
    const codes = selected();
    const count = document.getElementById("bulk-count");
    if (!count) return;
    count.textContent = codes.length ? `${codes.length} file(s) selected` : "No file selected";
    for (const b of document.querySelectorAll("#bulk-bar button")) b.disabled = !codes.length;
  }

  document.addEventListener("change", (ev) => {
    if (ev.target.id === "select-all") {
      for (const c of document.querySelectorAll("#listing input.pick")) {
        c.checked = ev.target.checked;
      }
    }
    if (ev.target.matches("#listing input.pick, #select-all")) updateBulk();
  });

  document.addEventListener("click", (ev) => {
    const btn = ev.target.closest("[data-action]");
    if (!btn) return;
    const action = btn.dataset.action;
    const row = btn.closest("tr") ? rowOf(btn) : null;
    switch (action) {
      case "rename-file": return rename(row, false);
      case "rename-folder": return rename(row, true);
      case "move-file": return move(row, false);
      case "move-folder": return move(row, true);
      case "delete-file": return remove(row, false);
      case "delete-folder": return remove(row, true);
      case "link": return linkOptions(row);
      case "copy": return copy(row);
      case "bulk-move": return move(null, false, selected());
      case "bulk-delete": return remove(null, false, selected());
    }
  });

  // -- new folder ---------------------------------------------------------------------------

  document.getElementById("new-folder-form").addEventListener("submit", async (ev) => {
    ev.preventDefault();
    const input = document.getElementById("new-folder-name");
    const name = input.value;
    try {
      await API.createFolder(name, config.folder);
      input.value = "";
      await refresh();
      say(`Folder “${name}” created.`);
    } catch (e) {
      say(e.message, true);
      input.focus();
    }
  });
})();
