// MessTools neighbour explorer: plain JavaScript, no external resources (works offline).
"use strict";
(function () {
  const $ = (id) => document.getElementById(id);
  const state = { model: null, tracks: [], key: sessionStorage.getItem("messApiKey") || "" };

  function headers() { return state.key ? { "X-Api-Key": state.key } : {}; }
  function withModel(url) {
    if (!state.model) return url;
    return url + (url.includes("?") ? "&" : "?") + "model=" + encodeURIComponent(state.model);
  }
  async function api(url) {
    const r = await fetch(withModel(url), { headers: headers() });
    if (r.status === 401) { $("key-label").hidden = false; throw new Error("This server needs an API key: enter it above."); }
    const body = r.headers.get("content-type")?.includes("json") ? await r.json() : null;
    if (!r.ok) throw new Error((body && (body.detail || body.title)) || ("HTTP " + r.status));
    return body;
  }
  function status(text, isError) { $("status").textContent = text || ""; $("status").className = isError ? "error" : ""; }

  async function loadModels() {
    const models = await api("/models");
    const sel = $("model");
    sel.textContent = "";
    for (const m of models) {
      const o = document.createElement("option");
      o.value = m.name; o.textContent = m.name + " (" + m.count + " tracks, " + m.dim + " dims)";
      sel.appendChild(o);
    }
    state.model = models.length ? models[0].name : null;
    updateReportLink();
    await loadTracks();
  }

  async function loadTracks() {
    state.tracks = [];
    for (let offset = 0; ; offset += 1000) {
      const page = await api("/tracks?limit=1000&offset=" + offset);
      state.tracks.push(...page.items);
      if (state.tracks.length >= page.total || page.items.length === 0) break;
    }
    suggest("");
    status(state.tracks.length + " tracks loaded. Search one to see its neighbours.");
  }

  function label(t) { return t.track_id + (t.composer ? " | " + t.composer : "") + (t.title ? " | " + t.title : ""); }

  function suggest(text) {
    const q = text.trim().toLowerCase();
    const list = $("suggestions");
    list.textContent = "";
    const hits = state.tracks.filter((t) => !q || label(t).toLowerCase().includes(q)).slice(0, 30);
    for (const t of hits) { const o = document.createElement("option"); o.value = t.track_id; o.label = label(t); list.appendChild(o); }
  }

  function updateReportLink() {
    $("report-link").href = withModel("/eval/report.html");
  }

  async function show(trackId) {
    trackId = (trackId || "").split(" | ")[0].trim();
    if (!trackId) return;
    $("search").value = trackId;
    const k = Math.max(1, parseInt($("k").value, 10) || 5);
    const excl = $("exclude-album").checked;
    status("Loading neighbours of " + trackId + " ...");
    try {
      const [track, res] = await Promise.all([
        api("/tracks/" + encodeURIComponent(trackId)),
        api("/tracks/" + encodeURIComponent(trackId) + "/nearest?k=" + k + (excl ? "&excludeSameAlbum=true" : "")),
      ]);
      $("query").hidden = false;
      $("query-title").textContent = track.track_id;
      $("query-meta").textContent = [track.composer, track.title, track.album_id ? "album " + track.album_id : null].filter(Boolean).join(" · ");
      const body = document.querySelector("#neighbors tbody");
      body.textContent = "";
      for (const n of res.neighbors) {
        const tr = document.createElement("tr");
        const a = document.createElement("a");
        a.className = "track"; a.textContent = n.track_id; a.href = "#" + encodeURIComponent(n.track_id);
        a.dataset.trackId = n.track_id;
        a.addEventListener("click", (e) => { e.preventDefault(); show(n.track_id); });
        const cells = [String(n.rank), a, null, n.composer || "", n.album_id || ""];
        cells.forEach((c, i) => {
          const td = document.createElement("td");
          if (i === 2) {
            td.className = "sim";
            const bar = document.createElement("span");
            bar.className = "bar"; bar.style.width = Math.max(0, n.similarity) * 6 + "rem";
            td.append(bar, n.similarity.toFixed(4));
          } else if (c instanceof Node) td.appendChild(c); else td.textContent = c;
          tr.appendChild(td);
        });
        body.appendChild(tr);
      }
      history.replaceState(null, "", "#" + encodeURIComponent(trackId));
      status(res.neighbors.length + " neighbours of " + trackId + (excl ? " (same album excluded)" : "") + ".");
    } catch (e) { status(e.message, true); }
  }

  $("search").addEventListener("input", (e) => suggest(e.target.value));
  $("search").addEventListener("keydown", (e) => { if (e.key === "Enter") show($("search").value); });
  $("go").addEventListener("click", () => show($("search").value));
  $("exclude-album").addEventListener("change", () => { if (!$("query").hidden) show($("query-title").textContent); });
  $("model").addEventListener("change", async (e) => { state.model = e.target.value; updateReportLink(); await loadTracks(); });
  $("api-key").addEventListener("change", async (e) => { state.key = e.target.value; sessionStorage.setItem("messApiKey", state.key); await start(); });
  $("report-link").addEventListener("click", async (e) => {
    if (!state.key) return; // a plain link works without a key
    e.preventDefault();
    const r = await fetch(withModel("/eval/report.html"), { headers: headers() });
    if (!r.ok) { status("The evaluation report is not available (HTTP " + r.status + ").", true); return; }
    window.open(URL.createObjectURL(new Blob([await r.text()], { type: "text/html" })), "_blank");
  });

  async function start() {
    try {
      await loadModels();
      const hash = decodeURIComponent(location.hash.slice(1));
      if (hash) await show(hash);
    } catch (e) { status(e.message, true); }
  }
  start();
})();
