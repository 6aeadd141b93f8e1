// Files and whole folders dropped on the page, or chosen with "Upload a folder": the
// folder structure is made again under the current folder (POST /api/v1/folders with a
// path, like mkdir -p), then each file goes to the upload queue into its own folder.
(function () {
  "use strict";
  const P = window.partageFiles;
  const { t, api, say, config } = P;
  const overlay = document.getElementById("drop-overlay");
  const folderInput = document.getElementById("upload-folder-input");

  const carriesFiles = (ev) => ev.dataTransfer && [...ev.dataTransfer.types].includes("Files");

  function readAll(reader) {
    // readEntries answers in batches (100 in Chromium) until it answers an empty one.
    return new Promise((resolve, reject) => {
      const out = [];
      const next = () => reader.readEntries((batch) => {
        if (!batch.length) return resolve(out);
        out.push(...batch);
        next();
      }, reject);
      next();
    });
  }

  async function walk(entry, dir, found) {
    if (entry.isFile) {
      const file = await new Promise((resolve, reject) => entry.file(resolve, reject));
      found.files.push({ file, dir });
    } else if (entry.isDirectory) {
      const path = dir ? `${dir}/${entry.name}` : entry.name;
      found.dirs.add(path);
      for (const child of await readAll(entry.createReader())) await walk(child, path, found);
    }
  }

  async function makeFolders(dirs) {
    const ids = new Map([["", config.folder]]);
    const sorted = [...dirs].sort((a, b) => a.split("/").length - b.split("/").length);
    for (const dir of sorted) {
      const path = config.folderPath ? `${config.folderPath}/${dir}` : dir;
      const folder = await api("POST", "/api/v1/folders", { path });
      ids.set(dir, folder.id);
    }
    return ids;
  }

  async function uploadTree(found) {
    if (!P.enqueue) return say(t("no_tus"), true);
    let ids;
    try {
      ids = await makeFolders(found.dirs);
    } catch (e) {
      return say(t("folder_failed", { error: e.message }), true);
    }
    if (found.dirs.size) {
      say(t("folders_made", { n: found.dirs.size }));
      P.refresh();
    }
    for (const { file, dir } of found.files) {
      P.enqueue(file, ids.get(dir), dir ? `${dir}/${file.name}` : file.name);
    }
  }

  P.uploadTree = uploadTree;

  // -- drag and drop onto the page ---------------------------------------------------------

  let depth = 0;
  document.addEventListener("dragenter", (ev) => {
    if (!carriesFiles(ev)) return;
    depth++;
    overlay.hidden = false;
  });
  document.addEventListener("dragleave", (ev) => {
    if (!carriesFiles(ev)) return;
    depth = Math.max(0, depth - 1);
    if (!depth) overlay.hidden = true;
  });
  document.addEventListener("dragover", (ev) => {
    if (!carriesFiles(ev)) return;
    ev.preventDefault();
    ev.dataTransfer.dropEffect = "copy";
  });
  document.addEventListener("drop", (ev) => {
    if (!carriesFiles(ev)) return;
    ev.preventDefault();
    depth = 0;
    overlay.hidden = true;
    // Entries must be taken now: the DataTransfer is emptied once the event is over.
    const items = [...(ev.dataTransfer.items || [])].filter((i) => i.kind === "file");
    const entries = items.map((i) => (i.webkitGetAsEntry ? i.webkitGetAsEntry() : null));
    const found = { files: [], dirs: new Set() };
    if (entries.length && entries.every(Boolean)) {
      Promise.all(entries.map((e) => walk(e, "", found)))
        .then(() => uploadTree(found))
        .catch((e) => say(t("read_failed", { error: e.message || String(e) }), true));
    } else {
      for (const file of ev.dataTransfer.files) found.files.push({ file, dir: "" });
      uploadTree(found);
    }
  });

  // -- "Upload a folder": an <input webkitdirectory> ------------------------------------------

  folderInput.addEventListener("change", () => {
    const found = { files: [], dirs: new Set() };
    for (const file of folderInput.files) {
      const parts = (file.webkitRelativePath || file.name).split("/");
      parts.pop();
      for (let i = 1; i <= parts.length; i++) found.dirs.add(parts.slice(0, i).join("/"));
      found.files.push({ file, dir: parts.join("/") });
    }
    folderInput.value = "";
    uploadTree(found);
  });
})();
