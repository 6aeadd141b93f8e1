// What every script of "My files" shares: the page's translated strings, the JSON API
// with the CSRF header, the status line and human sizes. Exposed as window.partageFiles.
(function () {
  "use strict";

  const strings = JSON.parse(document.getElementById("files-strings").textContent);
  const config = JSON.parse(document.getElementById("files-config").textContent);
  const csrfMeta = document.querySelector('meta[name="csrf-token"]');
  const csrf = csrfMeta ? csrfMeta.content : "";

  // t("key", {name: "x"}): the template's translation with {name} filled in. A count's
  // text comes in plural forms ({one, other}), chosen by the page's language rules.
  const plurals = new Intl.PluralRules(document.documentElement.lang || "en");
  function t(key, vars) {
    let s = strings[key];
    if (s === undefined) s = key;
    if (typeof s === "object") s = s[plurals.select(Number(vars && vars.n))] || s.other;
    if (vars) {
      s = s.replace(/\{(\w+)\}/g, (m, k) => (k in vars ? String(vars[k]) : m));
    }
    return s;
  }

  async function errorMessage(resp) {
    try {
      const data = await resp.json();
      if (data && data.message) return data.message;
      if (data && typeof data.detail === "string") return data.detail;
    } catch (e) { /* not JSON */ }
    return t("server_answered", { status: resp.status });
  }

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
      throw new Error(t("unreachable"));
    }
    if (resp.ok) return resp.status === 204 ? null : resp.json().catch(() => null);
    const err = new Error(await errorMessage(resp));
    err.status = resp.status;
    throw err;
  }

  function human(n) {
    const units = ["unit_b", "unit_kib", "unit_mib", "unit_gib", "unit_tib"];
    let i = 0;
    while (n >= 1024 && i < units.length - 1) { n /= 1024; i++; }
    return t(units[i], { n: i === 0 ? String(Math.round(n)) : n.toFixed(1) });
  }

  function duration(seconds) {
    if (!isFinite(seconds) || seconds < 0) return "";
    seconds = Math.ceil(seconds);
    if (seconds < 60) return t("eta_s", { s: seconds });
    const m = Math.floor(seconds / 60);
    if (m < 60) return t("eta_m", { m, s: seconds % 60 });
    return t("eta_h", { h: Math.floor(m / 60), m: m % 60 });
  }

  function say(text, isError) {
    const el = document.getElementById("status");
    el.textContent = text;
    el.classList.toggle("error", Boolean(isError));
  }

  async function copyText(text) {
    try {
      await navigator.clipboard.writeText(text);
      return true;
    } catch (e) {
      return false;
    }
  }

  window.partageFiles = { t, api, human, duration, say, config, csrf, copyText };
})();
