// MessTools neighbour explorer: plain JavaScript, no external resources (works offline).
"use strict";
(function () {
  const $ = (id) => document.getElementById(id);
  const PALETTE = ["#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#17becf", "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22",
    "#393b79", "#ad494a", "#637939", "#7b4173", "#e6550d", "#3182bd", "#31a354", "#756bb1", "#636363", "#843c39"];
  const state = { model: null, tracks: [], byId: new Map(), composers: [], colour: new Map(), key: sessionStorage.getItem("messApiKey") || "", current: null };

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
  function el(tag, props, ...children) {
    const e = document.createElement(tag);
    Object.assign(e, props || {});
    for (const c of children) e.append(c);
    return e;
  }

  async function loadModels() {
    const models = await api("/models");
    const sel = $("model");
    sel.textContent = "";
    for (const m of models) sel.appendChild(el("option", { value: m.name, textContent: m.name + " (" + m.count + " tracks, " + m.dim + " dims)" }));
    state.model = models.length ? models[0].name : null;
    if (models.length) $("k").max = String(models[0].max_k); // the server's K rule (1 to count - 1), not a constant
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
    state.byId = new Map(state.tracks.map((t) => [t.track_id, t]));
    state.composers = [...new Set(state.tracks.map((t) => t.composer).filter(Boolean))].sort();
    state.colour = new Map(state.composers.map((c, i) => [c, PALETTE[i % PALETTE.length]]));
    const list = $("composers");
    list.textContent = "";
    for (const c of state.composers) list.appendChild(el("option", { value: c }));
    suggest("");
    status(state.tracks.length + " tracks loaded. Search one (id, composer or title) to see its neighbours.");
    loadMap().catch((e) => { $("map-note").textContent = "No map: " + e.message; });
  }

  function label(t) { return t.track_id + (t.composer ? " | " + t.composer : "") + (t.title ? " | " + t.title : ""); }
  function matching(text) {
    const q = text.trim().toLowerCase();
    return state.tracks.filter((t) => !q || label(t).toLowerCase().includes(q));
  }

  function suggest(text) {
    const list = $("suggestions");
    list.textContent = "";
    for (const t of matching(text).slice(0, 30)) list.appendChild(el("option", { value: t.track_id, label: label(t) }));
  }

  function updateReportLink() { $("report-link").href = withModel("/eval/report.html"); }

  function trackLink(t) {
    const a = el("a", { className: "track", textContent: t.track_id, href: "#" + encodeURIComponent(t.track_id) });
    a.dataset.trackId = t.track_id;
    a.addEventListener("click", (e) => { e.preventDefault(); go(t.track_id); });
    return a;
  }

  // Enter in the box: an exact track id shows its neighbours; anything else lists the tracks whose id, composer or title
  // holds the text (one match is shown at once).
  function search(text) {
    const raw = (text || "").split(" | ")[0].trim();
    if (!raw) return;
    if (state.byId.has(raw)) { go(raw); return; }
    const hits = matching(text);
    if (hits.length === 1) { go(hits[0].track_id); return; }
    $("matches").hidden = false;
    const list = $("match-list");
    list.textContent = "";
    if (hits.length === 0) {
      $("matches-title").textContent = "No track matches '" + text.trim() + "'";
      status("No track's id, composer or title holds '" + text.trim() + "'.", true);
      return;
    }
    $("matches-title").textContent = hits.length + " tracks match '" + text.trim() + "'";
    for (const t of hits.slice(0, 200)) {
      const li = el("li", { className: "match" }, trackLink(t), " " + [t.composer, t.title].filter(Boolean).join(" · "));
      list.appendChild(li);
    }
    status(hits.length + " tracks match '" + text.trim() + "'" + (hits.length > 200 ? " (the first 200 are listed)" : "") + ": pick one.");
  }

  // Shows a track's neighbours; a new track becomes a history entry, so Back and Forward walk the tracks visited.
  async function go(trackId, push = true) {
    if (!trackId) return;
    await show(trackId);
    if (push && state.current === trackId && decodeURIComponent(location.hash.slice(1)) !== trackId)
      history.pushState({ track: trackId }, "", "#" + encodeURIComponent(trackId));
  }

  async function show(trackId) {
    $("search").value = trackId;
    const k = Math.max(1, parseInt($("k").value, 10) || 5);
    const excl = $("exclude-album").checked;
    const composer = $("composer").value.trim();
    let url = "/tracks/" + encodeURIComponent(trackId) + "/nearest?k=" + k + (excl ? "&excludeSameAlbum=true" : "");
    if (composer) url += "&composer=" + encodeURIComponent(composer);
    status("Loading neighbours of " + trackId + " ...");
    try {
      const [track, res] = await Promise.all([api("/tracks/" + encodeURIComponent(trackId)), api(url)]);
      state.current = trackId;
      $("matches").hidden = true;
      $("query").hidden = false;
      $("query-title").textContent = track.track_id;
      $("query-meta").textContent = [track.composer, track.title, track.album_id ? "album " + track.album_id : null].filter(Boolean).join(" · ");
      const body = document.querySelector("#neighbors tbody");
      body.textContent = "";
      for (const n of res.neighbors) {
        const sim = el("td", { className: "sim" }, el("span", { className: "bar" }), n.similarity.toFixed(4));
        sim.firstChild.style.width = Math.max(0, n.similarity) * 6 + "rem";
        const dot = el("span", { className: "dot" });
        dot.style.background = state.colour.get(n.composer) || "#999";
        body.appendChild(el("tr", {}, el("td", { textContent: String(n.rank) }), el("td", {}, trackLink(n)), el("td", { textContent: n.title || "" }),
          sim, el("td", {}, dot, n.composer || ""), el("td", { textContent: n.album_id || "" })));
      }
      highlight(trackId, res.neighbors.map((n) => n.track_id));
      status(res.neighbors.length + " neighbours of " + trackId + (excl ? " (same album excluded)" : "") + (composer ? " by " + composer : "") + ".");
    } catch (e) { status(e.message, true); }
  }

  // The map: every track (a sample of a large set) on the first two principal components, coloured by composer; hover
  // for the title, click to query. The query track and its neighbours are ringed.
  async function loadMap() {
    const map = await api("/map");
    const svg = $("map");
    svg.textContent = "";
    const xs = map.points.map((p) => p.x), ys = map.points.map((p) => p.y);
    const [x0, x1, y0, y1] = [Math.min(...xs), Math.max(...xs), Math.min(...ys), Math.max(...ys)];
    const sx = (x) => 15 + ((x - x0) / ((x1 - x0) || 1)) * 470, sy = (y) => 485 - ((y - y0) / ((y1 - y0) || 1)) * 470;
    const r = map.points.length > 2000 ? 2.5 : 5;
    for (const p of map.points) {
      const c = document.createElementNS(svg.namespaceURI, "circle"); // the SVG namespace, from the page's own element
      c.setAttribute("cx", sx(p.x).toFixed(1)); c.setAttribute("cy", sy(p.y).toFixed(1)); c.setAttribute("r", String(r));
      c.setAttribute("fill", state.colour.get(p.composer) || "#999");
      c.classList.add("point");
      c.dataset.trackId = p.track_id;
      c.addEventListener("mouseenter", () => tip(c, p));
      c.addEventListener("mouseleave", () => { $("map-tip").hidden = true; });
      c.addEventListener("click", () => go(p.track_id));
      svg.appendChild(c);
    }
    const legend = $("legend");
    legend.textContent = "";
    for (const [name, colour] of state.colour) {
      const dot = el("span", { className: "dot" });
      dot.style.background = colour;
      legend.appendChild(el("li", {}, dot, name));
    }
    $("map-note").textContent = map.points.length + (map.points.length < map.total ? " of " + map.total : "") +
      " tracks on the first two principal components. Hover for the title, click to query.";
    $("map-panel").hidden = false;
    if (state.current) highlight(state.current, [...document.querySelectorAll("#neighbors a.track")].map((a) => a.dataset.trackId));
  }

  function tip(circle, p) {
    const box = $("map-tip");
    box.textContent = (p.title || p.track_id) + " · " + (p.composer || "unknown composer") + " (" + p.track_id + ")";
    const svg = $("map").getBoundingClientRect(), c = circle.getBoundingClientRect();
    box.style.left = (c.left - svg.left + 10) + "px";
    box.style.top = (c.top - svg.top - 6) + "px";
    box.hidden = false;
  }

  function highlight(query, neighbours) {
    const near = new Set(neighbours);
    for (const c of document.querySelectorAll("#map circle.point")) {
      c.classList.toggle("query", c.dataset.trackId === query);
      c.classList.toggle("neighbor", near.has(c.dataset.trackId));
      if (c.dataset.trackId === query) c.parentNode.appendChild(c); // drawn on top
    }
  }

  function refresh() { if (state.current) show(state.current); }
  $("search").addEventListener("input", (e) => suggest(e.target.value));
  $("search").addEventListener("keydown", (e) => { if (e.key === "Enter") search($("search").value); });
  $("go").addEventListener("click", () => search($("search").value));
  $("exclude-album").addEventListener("change", refresh);
  $("composer").addEventListener("change", refresh);
  $("k").addEventListener("change", refresh);
  $("model").addEventListener("change", async (e) => { state.model = e.target.value; state.current = null; updateReportLink(); await loadTracks(); });
  $("api-key").addEventListener("change", async (e) => { state.key = e.target.value; sessionStorage.setItem("messApiKey", state.key); await start(); });
  $("report-link").addEventListener("click", async (e) => {
    if (!state.key) return; // a plain link works without a key
    e.preventDefault();
    const r = await fetch(withModel("/eval/report.html"), { headers: headers() });
    if (!r.ok) { status("The evaluation report is not available (HTTP " + r.status + ").", true); return; }
    window.open(URL.createObjectURL(new Blob([await r.text()], { type: "text/html" })), "_blank");
  });
  window.addEventListener("popstate", (e) => {
    const id = (e.state && e.state.track) || decodeURIComponent(location.hash.slice(1));
    if (id) show(id);
  });

  async function start() {
    try {
      await loadModels();
      const hash = decodeURIComponent(location.hash.slice(1));
      if (hash) { await show(hash); history.replaceState({ track: hash }, "", location.hash); }
    } catch (e) { status(e.message, true); }
  }
  start();
})();
