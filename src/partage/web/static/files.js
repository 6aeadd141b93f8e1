// "My files": move, copy, delete, share and rename through the JSON API. The list itself
// is rendered by the server; after a change we fetch the page again and swap #listing,
// so there is one source of truth and reading works without JavaScript.
(function () {
  "use strict";
  const P = window.partageFiles;
  const { t, api, say, config } = P;

  const folderId = (v) => (v === "" || v == null ? null : Number(v));
  const API = {
    renameFile: (code, name) => api("PATCH", `/api/v1/files/${code}`, { name }),
    moveFile: (code, folder) => api("PATCH", `/api/v1/files/${code}`, { folder_id: folder }),
    patchFile: (code, opts) => api("PATCH", `/api/v1/files/${code}`, opts),
    deleteFile: (code) => api("DELETE", `/api/v1/files/${code}`),
    bulk: (action, codes, folder) =>
      api("POST", "/api/v1/files/bulk", { action, codes, folder_id: folder }),
    createFolder: (name, parent) => api("POST", "/api/v1/folders", { name, parent_id: parent }),
    getFolder: (id) => api("GET", `/api/v1/folders/${id}?per_page=1`),
    renameFolder: (id, name) => api("PATCH", `/api/v1/folders/${id}`, { name }),
    moveFolder: (id, parent) => api("PATCH", `/api/v1/folders/${id}`, { parent_id: parent }),
    shareFolder: (id, shared) => api("PATCH", `/api/v1/folders/${id}`, { shared }),
    deleteFolder: (id) => api("DELETE", `/api/v1/folders/${id}?force=true`),
  };
  P.API = API;
  P.folderId = folderId;

  // -- refreshing the list ------------------------------------------------------------------

  async function refresh() {
    const resp = await fetch(location.href, { credentials: "same-origin",
      headers: { Accept: "text/html" } });
    if (!resp.ok) return;
    const doc = new DOMParser().parseFromString(await resp.text(), "text/html");
    for (const id of ["listing", "quota", "move-target", "tree-list"]) {
      const fresh = doc.getElementById(id);
      const old = document.getElementById(id);
      if (fresh && old) old.replaceWith(fresh);
    }
    document.dispatchEvent(new CustomEvent("partage:refreshed"));
  }
  P.refresh = refresh;
  window.partageRefresh = refresh;

  // -- dialogs ------------------------------------------------------------------------------

  let opener = null;

  // onSubmit returns the status text to show, or {keep: text} to leave the dialog open.
  function openDialog(id, onSubmit) {
    const dlg = document.getElementById(id);
    const err = dlg.querySelector(".dlg-error");
    err.hidden = true;
    for (const note of dlg.querySelectorAll(".copy-note")) note.textContent = "";
    opener = document.activeElement;
    dlg.onsubmit = async (ev) => {
      ev.preventDefault();
      const submit = dlg.querySelector('button[type="submit"]');
      submit.disabled = true;
      err.hidden = true;
      try {
        const done = await onSubmit(dlg);
        if (!(done && done.keep)) dlg.close();
        await refresh();
        if (done) say(done.keep || done);
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

  async function copyField(btn) {
    const field = document.getElementById(btn.dataset.field);
    const note = btn.closest("dialog").querySelector(".copy-note");
    field.select();
    const ok = await P.copyText(field.value);
    note.textContent = ok ? t("copied") : t("copy_manually");
  }

  // -- inline rename ------------------------------------------------------------------------

  function inlineRename(tr) {
    const nameEl = tr.querySelector(".fname");
    if (!nameEl || tr.querySelector(".rename-input")) return;
    const isFolder = tr.classList.contains("folder");
    const old = tr.dataset.name;
    const back = document.activeElement;
    const input = document.createElement("input");
    input.type = "text";
    input.className = "rename-input";
    input.maxLength = 255;
    input.value = old;
    input.setAttribute("aria-label", t("new_name"));
    nameEl.hidden = true;
    nameEl.after(input);
    input.focus();
    const dot = isFolder ? -1 : old.lastIndexOf(".");
    input.setSelectionRange(0, dot > 0 ? dot : old.length);
    let busy = false;

    function cancel() {
      if (busy || !input.isConnected) return;
      input.remove();
      nameEl.hidden = false;
      if (back && document.contains(back)) back.focus();
    }

    async function save() {
      const name = input.value.trim();
      if (!name || name === old) return cancel();
      busy = true;
      input.readOnly = true;
      try {
        if (isFolder) await API.renameFolder(tr.dataset.folderId, name);
        else await API.renameFile(tr.dataset.code, name);
        const sel = isFolder ? `tr.folder[data-folder-id="${tr.dataset.folderId}"]`
          : `tr.file[data-code="${tr.dataset.code}"]`;
        await refresh();
        say(t("renamed", { name }));
        const again = document.querySelector(`${sel} [data-action^="rename"]`);
        if (again) again.focus();
      } catch (e) {
        busy = false;
        input.readOnly = false;
        input.setAttribute("aria-invalid", "true");
        say(e.message, true);
        input.focus();
      }
    }

    input.addEventListener("keydown", (ev) => {
      if (ev.key === "Enter") { ev.preventDefault(); save(); }
      if (ev.key === "Escape") { ev.preventDefault(); ev.stopPropagation(); cancel(); }
    });
    input.addEventListener("blur", () => setTimeout(cancel, 0));
  }

  document.addEventListener("keydown", (ev) => {
    if (ev.key !== "F2") return;
    const tr = ev.target.closest && ev.target.closest("#listing tr.file, #listing tr.folder");
    if (tr) { ev.preventDefault(); inlineRename(tr); }
  });

  // -- actions ------------------------------------------------------------------------------

  function rowOf(el) {
    const tr = el.closest("tr");
    return { tr, code: tr.dataset.code, id: tr.dataset.folderId, name: tr.dataset.name };
  }

  function move(row, isFolder, codes, action) {
    const copying = action === "copy";
    const dlg = openDialog("dlg-move", async (d) => {
      const target = folderId(d.querySelector("#move-target").value);
      if (codes) await API.bulk(action, codes, target);
      else if (isFolder) await API.moveFolder(row.id, target);
      else await API.moveFile(row.code, target);
      if (codes) return t(copying ? "n_copied" : "n_moved", { n: codes.length });
      return t("moved", { name: row.name });
    });
    dlg.querySelector("#dlg-move-title").textContent = codes
      ? t(copying ? "copy_n" : "move_n", { n: codes.length })
      : t("move_one", { name: row.name });
    dlg.querySelector("#move-submit").textContent = t(copying ? "copy" : "move");
    const select = dlg.querySelector("#move-target");
    select.value = config.folder == null ? "" : String(config.folder);
    select.focus();
  }

  function remove(row, isFolder, codes) {
    const dlg = openDialog("dlg-delete", async () => {
      if (codes) await API.bulk("delete", codes);
      else if (isFolder) await API.deleteFolder(row.id);
      else await API.deleteFile(row.code);
      return codes ? t("n_deleted", { n: codes.length }) : t("deleted", { name: row.name });
    });
    dlg.querySelector("#delete-what").textContent = codes
      ? t("delete_n", { n: codes.length })
      : t(isFolder ? "delete_folder" : "delete_file", { name: row.name });
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
      await API.patchFile(row.code, opts);
      return t("link_saved", { name: row.name });
    });
    dlg.querySelector("#link-name").textContent = row.name;
    dlg.querySelector("#link-url").value = ds.url;
    dlg.querySelector("#link-public").checked = ds.public === "true";
    dlg.querySelector("#link-password").value = "";
    dlg.querySelector("#link-password-help").textContent =
      t(ds.hasPassword === "true" ? "has_password" : "no_password");
    dlg.querySelector("#link-nopass").checked = false;
    dlg.querySelector("#link-nopass-row").hidden = ds.hasPassword !== "true";
    dlg.querySelector("#link-expires").value = localInput(ds.expires);
    dlg.querySelector("#link-max").value = ds.maxDownloads;
    dlg.querySelector("#link-public").focus();
  }

  function showFolderLink(dlg, url) {
    dlg.querySelector("#folder-share-url").value = url || "";
    dlg.querySelector("#folder-share-link-row").hidden = !url;
  }

  async function shareFolder(row) {
    const dlg = openDialog("dlg-folder-share", async (d) => {
      const shared = d.querySelector("#folder-shared").checked;
      const data = await API.shareFolder(row.id, shared);
      showFolderLink(d, data && data.share_url);
      return { keep: t(shared ? "folder_shared" : "folder_unshared", { name: row.name }) };
    });
    dlg.querySelector("#folder-share-name").textContent = row.name;
    const box = dlg.querySelector("#folder-shared");
    box.checked = row.tr.dataset.shared === "true";
    showFolderLink(dlg, null);
    // The box waits for the folder's current state, so a click made meanwhile is not undone
    // by the answer arriving after it.
    const token = (dlg.dataset.loading = String(Date.now() + Math.random()));
    box.disabled = true;
    dlg.setAttribute("aria-busy", "true");
    try {
      const data = await API.getFolder(row.id);
      if (dlg.dataset.loading !== token) return;
      box.checked = Boolean(data.share_url);
      showFolderLink(dlg, data.share_url);
    } catch (e) { /* the dialog still works from the row's state */ }
    finally {
      if (dlg.dataset.loading === token) {
        box.disabled = false;
        dlg.removeAttribute("aria-busy");
        box.focus();
      }
    }
  }

  function bulkShare(codes) {
    const dlg = openDialog("dlg-bulk-share", async (d) => {
      if (d.querySelector("#bulk-public").checked) {
        await Promise.all(codes.map((c) => API.patchFile(c, { public: true })));
        return t("n_public", { n: codes.length });
      }
      return null;
    });
    const urls = codes.map((c) => document.querySelector(`tr.file[data-code="${c}"]`).dataset.url);
    dlg.querySelector("#bulk-links").value = urls.join("\n");
    dlg.querySelector('[data-action="copy-field"]').focus();
  }

  async function copy(row) {
    const url = row.tr.dataset.url;
    say(t(await P.copyText(url) ? "link_copied" : "copy_this", { url }));
  }

  document.addEventListener("click", (ev) => {
    const btn = ev.target.closest("[data-action]");
    if (!btn) return;
    const action = btn.dataset.action;
    const row = btn.closest("tr") ? rowOf(btn) : null;
    const codes = () => P.selected();
    switch (action) {
      case "rename-file": case "rename-folder": return inlineRename(row.tr);
      case "move-file": return move(row, false);
      case "move-folder": return move(row, true);
      case "delete-file": return remove(row, false);
      case "delete-folder": return remove(row, true);
      case "share-folder": return shareFolder(row);
      case "link": return linkOptions(row);
      case "copy": return copy(row);
      case "copy-field": return copyField(btn);
      case "bulk-move": return move(null, false, codes(), "move");
      case "bulk-copy": return move(null, false, codes(), "copy");
      case "bulk-delete": return remove(null, false, codes());
      case "bulk-share": return bulkShare(codes());
    }
  });

  // -- new folder -----------------------------------------------------------------------------

  document.getElementById("new-folder-form").addEventListener("submit", async (ev) => {
    ev.preventDefault();
    const input = document.getElementById("new-folder-name");
    const name = input.value;
    try {
      await API.createFolder(name, config.folder);
      input.value = "";
      await refresh();
      say(t("folder_created", { name }));
    } catch (e) {
      say(e.message, true);
      input.focus();
    }
  });
})();
