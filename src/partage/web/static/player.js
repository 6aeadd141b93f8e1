// The video/audio player of /v/{code} and /embed/{code} (templates/_player.html).
// The page describes the media in <script type="application/json" id="player-data">;
// see docs/player.md for that contract and for how the source is chosen:
// hls.js where MSE exists, native HLS on Safari, else the browser-playable original.
// Without JS the <video controls> element of the template still plays the original.
(function () {
  "use strict";

  // The page's strings (see _player.html): {name} placeholders are filled in here.
  const stringsEl = document.getElementById("player-strings");
  const T = stringsEl ? JSON.parse(stringsEl.textContent) : {};
  const t = (key, vars) => (T[key] || key).replace(/\{(\w+)\}/g, (_, k) => String(vars[k]));

  // -- the watch page's "copy the embed code" button (not part of the player) --------------
  const copyButton = document.getElementById("embed-copy");
  if (copyButton) {
    const code = document.getElementById("embed-code"), status = document.getElementById("embed-copy-status");
    copyButton.hidden = false;
    copyButton.addEventListener("click", () => navigator.clipboard.writeText(code.value).then(
      () => { status.textContent = T.copied; },
      () => { code.select(); status.textContent = T.copyByHand; }));
  }

  const root = document.getElementById("player");
  const dataEl = document.getElementById("player-data");
  if (!root || !dataEl) return;

  const media = JSON.parse(dataEl.textContent);
  const video = document.getElementById("player-video"); // <video>, or <audio> for audio files
  const $ = (id) => document.getElementById(id);
  const ui = {
    message: root.querySelector(".player-message"),
    bar: root.querySelector(".player-bar"),
    play: $("player-play"), mute: $("player-mute"), volume: $("player-volume"),
    seek: $("player-seek"), current: $("player-current"), duration: $("player-duration"),
    quality: $("player-quality"), audio: $("player-audio"), subtitles: $("player-subtitles"),
    fullscreen: $("player-fullscreen"), help: $("player-help"), helpToggle: $("player-help-toggle"),
    preview: root.querySelector(".player-preview"),
  };
  const isAudio = media.kind === "audio";
  const player = (window.partagePlayer = { video, hls: null, media });
  let source = null; // "hls" | "native" | "direct" once a source is attached
  video.removeAttribute("controls"); // the no-JS fallback; ours appear with a source

  // -- state, messages, time --------------------------------------------------------------

  const setState = (s) => { root.dataset.state = s; };

  const say = (text) => { ui.message.textContent = text || ""; ui.message.hidden = !text; };
  const fail = (text) => { say(text); setState("error"); };

  function fmt(t) {
    if (!Number.isFinite(t) || t < 0) t = 0;
    const s = Math.floor(t % 60), m = Math.floor(t / 60) % 60, h = Math.floor(t / 3600);
    const ss = String(s).padStart(2, "0");
    return h ? `${h}:${String(m).padStart(2, "0")}:${ss}` : `${m}:${ss}`;
  }

  // The total length: the element's once known (finite), else what the server measured.
  function duration() {
    if (Number.isFinite(video.duration) && video.duration > 0) return video.duration;
    if (media.duration) return media.duration;
    const r = video.seekable;
    return r && r.length ? r.end(r.length - 1) : 0;
  }

  const processingText = (m) =>
    t(isAudio ? "processingAudio" : "processingVideo", { progress: Math.floor(m.progress || 0) });

  // -- remembered position (per browser, per file) ----------------------------------------

  const posKey = "partage:position:" + media.code;
  let lastSave = 0;

  function savePosition() {
    lastSave = Date.now();
    try {
      const d = duration(), t = video.currentTime;
      if (video.ended || (d && t > d - 5)) localStorage.removeItem(posKey);
      else if (t > 0) localStorage.setItem(posKey, String(Math.floor(t)));
    } catch (e) { /* storage disabled: nothing to remember */ }
  }

  // The position to start from: a remembered one between 5 s and the end − 5 s, else 0.
  function rememberedPosition() {
    let t = 0;
    try { t = Number(localStorage.getItem(posKey)) || 0; } catch (e) { /* disabled */ }
    const d = media.duration || (Number.isFinite(video.duration) ? video.duration : 0);
    return t >= 5 && (!d || t <= d - 5) ? t : 0;
  }

  video.addEventListener("timeupdate", () => { if (!video.paused && Date.now() - lastSave >= 5000) savePosition(); });
  video.addEventListener("play", () => { lastSave = Date.now(); });
  video.addEventListener("pause", savePosition);
  video.addEventListener("ended", () => { try { localStorage.removeItem(posKey); } catch (e) { /* */ } });
  window.addEventListener("pagehide", () => { if (source) savePosition(); });

  // -- choosing and attaching the source --------------------------------------------------

  function start() {
    const processing = media.state === "pending" || media.state === "running";
    const cannot = T.cannotPlay;
    if (!["video", "audio"].includes(media.kind) && !(processing && media.kind === "other")) return fail(cannot);
    const canHls = media.hls_url && media.playable;
    if (isAudio && media.direct_url) return startDirect(media.direct_url);
    if (canHls) {
      const Hls = window.Hls;
      const native = video.canPlayType("application/vnd.apple.mpegurl") !== "";
      const apple = /Apple/.test(navigator.vendor || "");
      if (native && (apple || !Hls || !Hls.isSupported())) return startNative();
      if (Hls && Hls.isSupported()) return startHls(Hls);
    }
    if (media.direct_url) return startDirect(media.direct_url);
    if (canHls) return fail(T.noHls);
    if (media.state === "failed") return fail(t("processingFailed", { error: media.error || T.unknownError }));
    return processing ? waitForProcessing() : fail(cannot);
  }

  // A source is attached: our controls appear.
  function attached(kind) {
    source = kind;
    ui.bar.hidden = false;
    say("");
    updateTime();
  }

  function startDirect(url) {
    if (video.getAttribute("src") !== url) video.src = url;
    video.preload = "metadata";
    resumeAt(rememberedPosition());
    attached("direct");
    setState(video.paused ? "ready" : "playing");
  }

  function startNative() {
    video.src = media.hls_url;
    video.preload = "metadata";
    resumeAt(rememberedPosition());
    attached("native");
    nativeAudioTracks();
    setState("ready");
  }

  function resumeAt(t) {
    if (!t) return;
    const go = () => { video.currentTime = t; };
    if (video.readyState >= 1) go(); else video.addEventListener("loadedmetadata", go, { once: true });
  }

  function startHls(Hls) {
    if (video.getAttribute("src")) { video.removeAttribute("src"); video.load(); }
    const hls = new Hls({
      // Subtitles come from the <track> elements, as with direct play.
      enableWebVTT: false, enableIMSC1: false, enableCEA708Captions: false,
      // While processing the playlists are of EVENT type: start at the beginning
      // (or where the viewer left off), not near the "live" edge.
      startPosition: rememberedPosition(),
    });
    player.hls = hls;
    let recovered = false;
    hls.on(Hls.Events.MANIFEST_PARSED, () => {
      fillQuality(hls);
      fillHlsAudio(hls);
      setState(video.paused ? "ready" : "playing");
    });
    hls.on(Hls.Events.LEVEL_SWITCHED, () => labelAuto(hls));
    hls.on(Hls.Events.AUDIO_TRACKS_UPDATED, () => fillHlsAudio(hls));
    hls.on(Hls.Events.AUDIO_TRACK_SWITCHED, () => { ui.audio.value = String(hls.audioTrack); });
    hls.on(Hls.Events.ERROR, (event, data) => {
      if (!data.fatal) return;
      if (data.type === Hls.ErrorTypes.MEDIA_ERROR && !recovered) {
        recovered = true;
        hls.recoverMediaError();
        return;
      }
      hls.destroy();
      player.hls = null;
      if (media.direct_url) return startDirect(media.direct_url); // the original may still play
      const why = data.type === Hls.ErrorTypes.NETWORK_ERROR
        ? T.networkFailed
        : T.decodeFailed;
      fail(t("playbackFailed", { why, details: data.details }));
    });
    hls.attachMedia(video);
    hls.loadSource(media.hls_url);
    attached("hls");
  }

  // -- while processing: poll the status until something is playable -----------------------

  function waitForProcessing() {
    setState("processing");
    say(processingText(media));
    if (media.status_url) setTimeout(poll, 3000);
  }

  async function poll() {
    if (source) return; // something plays already (the direct file): don't interrupt it
    try {
      const resp = await fetch(media.status_url, { credentials: "same-origin", headers: { Accept: "application/json" } });
      if (resp.status === 404 || resp.status === 410) return fail(T.gone);
      if (resp.ok) Object.assign(media, await resp.json());
    } catch (e) { /* offline for a moment: try again */ }
    if (media.playable || media.state === "failed" || media.state === "done" || media.state === "not_media") return start();
    say(processingText(media));
    setTimeout(poll, 3000);
  }

  // -- menus: quality, audio track, subtitles ---------------------------------------------

  const option = (value, text) => new Option(text, String(value));

  // "720p" from the short side, so a portrait 720x1280 rung is 720p too.
  function levelLabel(l) {
    const side = l.width && l.height ? Math.min(l.width, l.height) : l.height;
    return side ? `${side}p` : `${Math.round((l.bitrate || 0) / 1000)} kbps`;
  }

  function fillQuality(hls) {
    ui.quality.replaceChildren(option(-1, T.auto));
    hls.levels.map((l, i) => [l, i]).sort((a, b) => b[0].bitrate - a[0].bitrate)
      .forEach(([l, i]) => ui.quality.append(option(i, levelLabel(l))));
    ui.quality.value = String(hls.autoLevelEnabled ? -1 : hls.currentLevel);
    menu(ui.quality, hls.levels.length > 1);
  }

  function labelAuto(hls) {
    const l = hls.levels[hls.currentLevel];
    ui.quality.options[0].textContent = hls.autoLevelEnabled && l ? t("autoLevel", { level: levelLabel(l) }) : T.auto;
  }

  function trackLabel(t, i) {
    return t.name || t.label || t.lang || t.language || `Track ${i + 1}`;
  }

  function fillHlsAudio(hls) {
    ui.audio.replaceChildren(...hls.audioTracks.map((t, i) => option(i, trackLabel(t, i))));
    ui.audio.value = String(hls.audioTrack);
    menu(ui.audio, hls.audioTracks.length >= 2);
  }

  // Safari playing HLS natively exposes the renditions as video.audioTracks.
  function nativeAudioTracks() {
    const tracks = video.audioTracks;
    if (!tracks || tracks.length < 2) return;
    const list = Array.from(tracks);
    ui.audio.replaceChildren(...list.map((t, i) => option(i, trackLabel(t, i))));
    ui.audio.value = String(Math.max(0, list.findIndex((t) => t.enabled)));
    menu(ui.audio, true);
  }
  if (video.audioTracks) video.audioTracks.addEventListener?.("addtrack", () => { if (source === "native") nativeAudioTracks(); });

  function menu(select, show) { select.closest(".player-menu").hidden = !show; }

  ui.quality.addEventListener("change", () => {
    if (!player.hls) return;
    player.hls.currentLevel = Number(ui.quality.value); // -1: back to automatic
    labelAuto(player.hls);
  });
  ui.audio.addEventListener("change", () => {
    const i = Number(ui.audio.value);
    if (player.hls) player.hls.audioTrack = i;
    else if (video.audioTracks) Array.from(video.audioTracks).forEach((t, j) => { t.enabled = j === i; });
  });

  // Subtitles: the <track> elements of the template, in the order of media.subtitles.
  const textTracks = () => Array.from(video.querySelectorAll("track"), (el) => el.track);
  function showSubtitles(i) {
    textTracks().forEach((t, j) => { t.mode = j === i ? "showing" : "disabled"; });
    if (ui.subtitles) ui.subtitles.value = String(i);
  }
  if (ui.subtitles) {
    menu(ui.subtitles, textTracks().length > 0);
    ui.subtitles.addEventListener("change", () => showSubtitles(Number(ui.subtitles.value)));
  }

  // -- play, time, seek, volume, fullscreen -----------------------------------------------

  function togglePlay() {
    if (!source) return;
    if (video.paused || video.ended) video.play().catch(() => { /* blocked or interrupted */ });
    else video.pause();
  }

  function seekTo(t) {
    if (!source) return;
    const r = video.seekable;
    const end = r && r.length ? r.end(r.length - 1) : duration();
    video.currentTime = Math.max(0, Math.min(t, end || t));
    updateTime();
  }

  let scrubbing = false;
  function updateTime() {
    const d = duration(), t = video.currentTime;
    ui.current.textContent = fmt(t);
    ui.duration.textContent = fmt(d);
    ui.seek.max = String(d || 0);
    if (!scrubbing) ui.seek.value = String(t);
    ui.seek.setAttribute("aria-valuetext", `${fmt(t)} of ${fmt(d)}`);
    const b = video.buffered;
    const buffered = b && b.length ? b.end(b.length - 1) : 0;
    ui.seek.style.setProperty("--played", d ? `${(t / d) * 100}%` : "0%");
    ui.seek.style.setProperty("--buffered", d ? `${Math.min(100, (buffered / d) * 100)}%` : "0%");
  }
  ["timeupdate", "durationchange", "loadedmetadata", "progress", "seeked"].forEach((e) => video.addEventListener(e, updateTime));

  function updatePlaying() {
    const paused = video.paused || video.ended;
    ui.play.setAttribute("aria-label", paused ? T.play : T.pause);
    root.classList.toggle("is-paused", paused);
    if (!paused) root.classList.add("has-played");
    if (source && root.dataset.state !== "error") setState(paused ? "ready" : "playing");
  }
  ["play", "playing", "pause", "ended"].forEach((e) => video.addEventListener(e, updatePlaying));
  video.addEventListener("error", () => {
    if (source === "direct" || source === "native") fail(T.directFailed);
  });

  ui.play.addEventListener("click", togglePlay);
  if (!isAudio) {
    video.addEventListener("click", togglePlay);
    video.addEventListener("dblclick", toggleFullscreen);
  }
  ui.seek.addEventListener("pointerdown", () => { scrubbing = true; });
  window.addEventListener("pointerup", () => { scrubbing = false; });
  ui.seek.addEventListener("input", () => { seekTo(Number(ui.seek.value)); previewAt(Number(ui.seek.value)); });

  function updateVolume() {
    const muted = video.muted || video.volume === 0;
    ui.mute.setAttribute("aria-pressed", String(muted));
    root.classList.toggle("is-muted", muted);
    ui.volume.value = String(video.muted ? 0 : video.volume);
  }
  video.addEventListener("volumechange", updateVolume);
  ui.mute.addEventListener("click", () => {
    video.muted = !video.muted;
    if (!video.muted && video.volume === 0) video.volume = 0.5;
  });
  ui.volume.addEventListener("input", () => {
    video.volume = Number(ui.volume.value);
    video.muted = video.volume === 0;
  });
  const volumeBy = (d) => { video.muted = false; video.volume = Math.max(0, Math.min(1, video.volume + d)); };

  const fsElement = () => document.fullscreenElement || document.webkitFullscreenElement;
  function toggleFullscreen() {
    if (isAudio) return;
    if (fsElement()) (document.exitFullscreen || document.webkitExitFullscreen).call(document);
    else if (root.requestFullscreen) root.requestFullscreen().catch(() => {});
    else if (root.webkitRequestFullscreen) root.webkitRequestFullscreen();
    else if (video.webkitEnterFullscreen) video.webkitEnterFullscreen(); // iPhone: video only
  }
  const canFullscreen = !isAudio && (document.fullscreenEnabled || document.webkitFullscreenEnabled || video.webkitEnterFullscreen);
  ui.fullscreen.hidden = !canFullscreen;
  ui.fullscreen.addEventListener("click", toggleFullscreen);
  ["fullscreenchange", "webkitfullscreenchange"].forEach((e) => document.addEventListener(e, () => {
    ui.fullscreen.setAttribute("aria-label", fsElement() ? T.exitFullScreen : T.fullScreen);
  }));

  function toggleHelp() {
    ui.help.hidden = !ui.help.hidden;
    ui.helpToggle.setAttribute("aria-expanded", String(!ui.help.hidden));
  }
  ui.helpToggle.addEventListener("click", toggleHelp);

  // -- seek previews: the storyboard tile for the time under the pointer (or the thumb) -----

  let storyboard = null; // a promise of [{start, end, url, x, y, w, h}]
  let previewSeq = 0; // bumped when the preview is hidden: a late storyboard must not reopen it

  const parseVttTime = (s) => s.split(":").reduce((acc, part) => acc * 60 + Number(part), 0);

  async function loadStoryboard(url) {
    const resp = await fetch(url, { credentials: "same-origin" });
    if (!resp.ok) return [];
    const cues = [];
    for (const block of (await resp.text()).replace(/\r/g, "").split(/\n{2,}/)) {
      const lines = block.split("\n");
      const i = lines.findIndex((l) => l.includes("-->"));
      if (i < 0 || !lines[i + 1]) continue;
      const [from, to] = lines[i].split("-->").map((s) => parseVttTime(s.trim().split(/\s+/)[0]));
      const [file, xywh] = lines[i + 1].trim().split("#xywh=");
      if (!xywh) continue;
      const [x, y, w, h] = xywh.split(",").map(Number);
      cues.push({ start: from, end: to, url: new URL(file, resp.url).href, x, y, w, h });
    }
    return cues;
  }

  async function previewAt(t, clientX) {
    const d = duration();
    if (!d || !source) return;
    const seq = previewSeq, image = ui.preview.firstElementChild;
    let cue = null;
    if (media.storyboard) {
      storyboard = storyboard || loadStoryboard(media.storyboard).catch(() => []);
      const cues = await storyboard;
      if (seq !== previewSeq) return;
      cue = cues.find((c) => t >= c.start && t < c.end) || (t >= d - 1 ? cues[cues.length - 1] : null);
    }
    ui.preview.lastElementChild.textContent = fmt(t);
    image.hidden = !cue;
    if (cue) {
      image.style.backgroundImage = `url("${cue.url}")`;
      image.style.backgroundPosition = `-${cue.x}px -${cue.y}px`;
      image.style.width = `${cue.w}px`;
      image.style.height = `${cue.h}px`;
    }
    // Centre the tooltip on the pointer (or on the thumb), kept inside the bar.
    const bar = ui.seek.getBoundingClientRect();
    const x = clientX === undefined ? (t / d) * bar.width : clientX - bar.left;
    ui.preview.hidden = false;
    const half = ui.preview.offsetWidth / 2;
    ui.preview.style.left = `${Math.max(half, Math.min(bar.width - half, x)) - half}px`;
  }

  function previewFromPointer(e) {
    const bar = ui.seek.getBoundingClientRect();
    const frac = Math.max(0, Math.min(1, (e.clientX - bar.left) / bar.width));
    previewAt(frac * duration(), e.clientX);
  }
  const hidePreview = () => { previewSeq++; ui.preview.hidden = true; };
  ui.seek.addEventListener("pointermove", previewFromPointer);
  ui.seek.addEventListener("pointerleave", hidePreview);
  ui.seek.addEventListener("focus", () => previewAt(video.currentTime));
  ui.seek.addEventListener("blur", hidePreview);

  // -- keyboard shortcuts, while the focus is in the player (anywhere on the embed page) ---

  const keyScope = document.body.classList.contains("embed") ? document : root;
  keyScope.addEventListener("keydown", (e) => {
    if (e.ctrlKey || e.metaKey || e.altKey || !source) return;
    const el = e.target, tag = el.tagName;
    if (tag === "SELECT" || tag === "TEXTAREA" || el.isContentEditable || (tag === "INPUT" && el.type !== "range")) return;
    const key = e.key.length === 1 ? e.key.toLowerCase() : e.key;
    switch (key) {
      case " ": if (tag === "BUTTON") return; togglePlay(); break; // a focused button takes Space
      case "k": togglePlay(); break;
      case "f": toggleFullscreen(); break;
      case "m": ui.mute.click(); break;
      case "ArrowLeft": if (el === ui.volume) return; seekTo(video.currentTime - 5); break;
      case "ArrowRight": if (el === ui.volume) return; seekTo(video.currentTime + 5); break;
      case "j": seekTo(video.currentTime - 10); break;
      case "l": seekTo(video.currentTime + 10); break;
      case "ArrowUp": volumeBy(0.1); break;
      case "ArrowDown": volumeBy(-0.1); break;
      case "c": if (textTracks().length) showSubtitles(textTracks().some((t) => t.mode === "showing") ? -1 : 0); break;
      case "?": toggleHelp(); break;
      default:
        if (!/^[0-9]$/.test(key)) return;
        seekTo((duration() * Number(key)) / 10);
    }
    e.preventDefault();
    if (el === ui.seek) previewAt(video.currentTime);
  });

  updateVolume();
  updatePlaying();
  start();
})();
