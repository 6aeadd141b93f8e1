// Selection in "My files" (checkboxes, shift-click for a range, select all) and moving
// rows by dragging them onto a folder (a folder row, the tree or the breadcrumbs).
(function () {
  "use strict";
  const P = window.partageFiles;
  const { t, say } = P;
  const DRAG_TYPE = "application/x-partage-items";

  const picks = () => [...document.querySelectorAll("#listing input.pick")];
  P.selected = () => picks().filter((c) => c.checked).map((c) => c.value);

  function updateBulk() {
    const codes = P.selected();
    const count = document.getElementById("bulk-count");
    if (!count) return;
    count.textContent = codes.length ? t("n_selected", { n: codes.length }) : t("none_selected");
    for (const b of document.querySelectorAll("#bulk-bar button")) b.disabled = !codes.length;
    for (const c of picks()) c.closest("tr").classList.toggle("picked", c.checked);
    const all = document.getElementById("select-all");
    if (all) {
      all.checked = codes.length > 0 && codes.length === picks().length;
      all.indeterminate = codes.length > 0 && !all.checked;
    }
  }
  P.updateBulk = updateBulk;
  document.addEventListener("partage:refreshed", updateBulk);

  let last = null; // the checkbox clicked last, the anchor of a shift-click range

  document.addEventListener("click", (ev) => {
    const box = ev.target;
    if (!box.matches || !box.matches("#listing input.pick")) return;
    const all = picks();
    if (ev.shiftKey && last && all.includes(last) && last !== box) {
      const [a, b] = [all.indexOf(last), all.indexOf(box)].sort((x, y) => x - y);
      for (let i = a; i <= b; i++) all[i].checked = box.checked;
    }
    last = box;
    updateBulk();
  });

  document.addEventListener("change", (ev) => {
    if (ev.target.id === "select-all") {
      for (const c of picks()) c.checked = ev.target.checked;
    }
    if (ev.target.matches("#listing input.pick, #select-all")) updateBulk();
  });

  // -- drag and drop to move ------------------------------------------------------------------

  function dropTarget(el) {
    const t = el.closest && el.closest("[data-drop-folder], #listing tr.folder");
    if (!t) return null;
    const id = t.matches("tr") ? t.dataset.folderId : t.dataset.dropFolder;
    return { el: t, id: P.folderId(id) };
  }

  document.addEventListener("dragstart", (ev) => {
    const tr = ev.target.closest && ev.target.closest("#listing tr.file, #listing tr.folder");
    if (!tr) return;
    let items;
    if (tr.classList.contains("file")) {
      const sel = P.selected();
      items = { codes: sel.includes(tr.dataset.code) ? sel : [tr.dataset.code], folder: null };
    } else {
      items = { codes: [], folder: Number(tr.dataset.folderId) };
    }
    ev.dataTransfer.setData(DRAG_TYPE, JSON.stringify(items));
    ev.dataTransfer.effectAllowed = "move";
    tr.classList.add("dragging");
  });

  document.addEventListener("dragend", () => {
    for (const el of document.querySelectorAll(".dragging, .drop-here")) {
      el.classList.remove("dragging", "drop-here");
    }
  });

  const ours = (ev) => ev.dataTransfer && [...ev.dataTransfer.types].includes(DRAG_TYPE);

  document.addEventListener("dragover", (ev) => {
    if (!ours(ev)) return;
    const target = dropTarget(ev.target);
    for (const el of document.querySelectorAll(".drop-here")) {
      if (!target || el !== target.el) el.classList.remove("drop-here");
    }
    if (!target) return;
    ev.preventDefault();
    ev.dataTransfer.dropEffect = "move";
    target.el.classList.add("drop-here");
  });

  document.addEventListener("drop", async (ev) => {
    if (!ours(ev)) return;
    const target = dropTarget(ev.target);
    if (!target) return;
    ev.preventDefault();
    target.el.classList.remove("drop-here");
    const items = JSON.parse(ev.dataTransfer.getData(DRAG_TYPE));
    try {
      if (items.folder != null) {
        if (items.folder === target.id) return;
        await P.API.moveFolder(items.folder, target.id);
        await P.refresh();
        say(t("folder_moved"));
      } else if (items.codes.length) {
        await P.API.bulk("move", items.codes, target.id);
        await P.refresh();
        say(t("n_moved", { n: items.codes.length }));
      }
    } catch (e) {
      say(e.message, true);
    }
  });
})();
