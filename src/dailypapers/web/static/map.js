// The map of the papers: one canvas, no element per point. Loads /map/points.json (positions,
// categories, cluster labels; the page preloads it, so it is asked for while this script still
// loads and the fetch below gets the preloaded answer) and paints; then /map/titles.json (hover,
// search, click) and /map/mine.json (the reader's upvotes). window.dailypapersMap.firstPaint holds
// the time of the first paint (ms since navigation start), read by the tests and
// benchmarks/map_speed.py; pointsParsed, when the points were parsed (then comes the drawing).
(function () {
  "use strict";
  var wrap = document.getElementById("map");
  if (!wrap) return;
  var canvas = document.getElementById("map-canvas");
  var tip = document.getElementById("map-tip");
  var status = document.getElementById("map-status");
  var found = document.getElementById("map-found");
  var input = document.getElementById("map-q");
  var ctx = canvas.getContext("2d");
  var query = wrap.getAttribute("data-query") || "";
  var state = { points: null, titles: null, ids: null, mine: new Set(), hits: null,
                scale: 1, dx: 0, dy: 0, hover: -1 };
  var api = window.dailypapersMap = { firstPaint: null, pointsParsed: null, state: state };
  var PALETTE = ["#2563eb", "#dc2626", "#16a34a", "#d97706", "#9333ea", "#0891b2", "#db2777",
                 "#65a30d", "#7c3aed", "#ea580c", "#0d9488", "#4f46e5", "#be123c", "#a16207"];
  var OTHER = "#9ca3af";
  var CELL = 24; // px: the hover grid

  function url(path) { return path + (query ? "?" + query : ""); }
  function colour(index) { return index < PALETTE.length ? PALETTE[index] : OTHER; }

  function size() {
    var ratio = window.devicePixelRatio || 1;
    var box = canvas.getBoundingClientRect();
    canvas.width = Math.max(1, Math.round(box.width * ratio));
    canvas.height = Math.max(1, Math.round(box.height * ratio));
    ctx.setTransform(ratio, 0, 0, ratio, 0, 0);
    return box;
  }

  // grid units (0..grid) -> CSS pixels, with a margin, the aspect kept, then pan and zoom
  function projector(box) {
    var grid = state.points.grid || 4095, margin = 16;
    var unit = Math.min((box.width - 2 * margin) / grid, (box.height - 2 * margin) / grid);
    var ox = (box.width - unit * grid) / 2, oy = (box.height - unit * grid) / 2;
    return function (x, y) {
      return [(ox + x * unit) * state.scale + state.dx, (oy + (grid - y) * unit) * state.scale + state.dy];
    };
  }

  function draw() {
    var p = state.points;
    if (!p) return;
    var box = size(), project = projector(box);
    ctx.clearRect(0, 0, box.width, box.height);
    var n = p.x.length, radius = Math.max(1.2, Math.min(3.5, 1.6 * Math.sqrt(state.scale)));
    var dim = state.hits !== null;
    state.screen = new Float32Array(2 * n);
    ctx.globalAlpha = dim ? 0.18 : 0.75;
    for (var c = 0; c <= PALETTE.length; c++) { // one path per colour: few state changes
      ctx.fillStyle = colour(c);
      ctx.beginPath();
      for (var i = 0; i < n; i++) {
        if (Math.min(p.cat[i], PALETTE.length) !== c) continue;
        var xy = project(p.x[i], p.y[i]);
        state.screen[2 * i] = xy[0]; state.screen[2 * i + 1] = xy[1];
        ctx.rect(xy[0] - radius, xy[1] - radius, 2 * radius, 2 * radius);
      }
      ctx.fill();
    }
    state.grid = null; // the hover grid is built on the first hover after a paint
    ctx.globalAlpha = 1;
    if (dim) {
      ctx.fillStyle = "#f59e0b"; ctx.strokeStyle = "#111827"; ctx.lineWidth = 0.8;
      state.hits.forEach(function (i) {
        ctx.beginPath(); ctx.arc(state.screen[2 * i], state.screen[2 * i + 1], radius + 2, 0, 6.2832);
        ctx.fill(); ctx.stroke();
      });
    }
    ctx.strokeStyle = getComputedStyle(document.body).color; ctx.lineWidth = 1.5;
    state.mine.forEach(function (i) {
      ctx.beginPath(); ctx.arc(state.screen[2 * i], state.screen[2 * i + 1], radius + 3.5, 0, 6.2832);
      ctx.stroke();
    });
    ctx.font = "600 12px system-ui, sans-serif"; ctx.textAlign = "center";
    ctx.lineWidth = 3; ctx.strokeStyle = getComputedStyle(wrap).backgroundColor || "#fff";
    ctx.fillStyle = getComputedStyle(document.body).color;
    p.clusters.forEach(function (cluster) {
      var xy = project(cluster.x, cluster.y);
      ctx.strokeText(cluster.label, xy[0], xy[1]); ctx.fillText(cluster.label, xy[0], xy[1]);
    });
    if (state.hover >= 0) {
      ctx.beginPath(); ctx.arc(state.screen[2 * state.hover], state.screen[2 * state.hover + 1], radius + 3, 0, 6.2832);
      ctx.lineWidth = 2; ctx.strokeStyle = "#111827"; ctx.stroke();
    }
    if (api.firstPaint === null) {
      api.firstPaint = performance.now();
      canvas.setAttribute("data-painted", String(n));
    }
  }

  function grid() { // points by screen cell, for hover and click
    var cells = new Map(), n = state.points ? state.points.x.length : 0;
    for (var i = 0; i < n; i++) {
      var key = Math.floor(state.screen[2 * i] / CELL) * 65536 + Math.floor(state.screen[2 * i + 1] / CELL);
      var list = cells.get(key);
      if (list) list.push(i); else cells.set(key, [i]);
    }
    return cells;
  }

  function nearest(x, y) {
    if (!state.screen) return -1;
    if (!state.grid) state.grid = grid();
    var best = -1, bestD = 100, cx = Math.floor(x / CELL), cy = Math.floor(y / CELL);
    for (var gx = cx - 1; gx <= cx + 1; gx++) for (var gy = cy - 1; gy <= cy + 1; gy++) {
      (state.grid.get(gx * 65536 + gy) || []).forEach(function (i) {
        var ddx = state.screen[2 * i] - x, ddy = state.screen[2 * i + 1] - y, d = ddx * ddx + ddy * ddy;
        if (d < bestD) { bestD = d; best = i; }
      });
    }
    return best;
  }

  function local(event) {
    var box = canvas.getBoundingClientRect();
    return [event.clientX - box.left, event.clientY - box.top];
  }

  var drag = null;
  canvas.addEventListener("pointerdown", function (event) {
    drag = { x: event.clientX, y: event.clientY, dx: state.dx, dy: state.dy, moved: false };
    canvas.setPointerCapture(event.pointerId);
  });
  canvas.addEventListener("pointermove", function (event) {
    if (drag) {
      var mx = event.clientX - drag.x, my = event.clientY - drag.y;
      if (Math.abs(mx) + Math.abs(my) > 3) drag.moved = true;
      if (drag.moved) { state.dx = drag.dx + mx; state.dy = drag.dy + my; draw(); return; }
    }
    var at = local(event), i = nearest(at[0], at[1]);
    if (i !== state.hover) { state.hover = i; draw(); }
    if (i >= 0 && state.titles) {
      tip.textContent = state.titles[i] + " (" + state.ids[i] + ")";
      tip.hidden = false;
      tip.style.left = Math.min(at[0] + 12, canvas.clientWidth - 240) + "px";
      tip.style.top = (at[1] + 12) + "px";
    } else { tip.hidden = true; }
  });
  canvas.addEventListener("pointerup", function (event) {
    var clicked = drag && !drag.moved;
    drag = null;
    if (!clicked || !state.ids) return;
    var at = local(event), i = nearest(at[0], at[1]);
    if (i >= 0) window.location.href = "/papers/" + state.ids[i];
  });
  canvas.addEventListener("pointerleave", function () { tip.hidden = true; state.hover = -1; draw(); });
  canvas.addEventListener("wheel", function (event) {
    event.preventDefault();
    var at = local(event), factor = event.deltaY < 0 ? 1.25 : 0.8;
    var scale = Math.max(0.5, Math.min(40, state.scale * factor));
    factor = scale / state.scale;
    state.dx = at[0] - (at[0] - state.dx) * factor; state.dy = at[1] - (at[1] - state.dy) * factor;
    state.scale = scale; draw();
  }, { passive: false });
  window.addEventListener("resize", draw);

  function search() {
    var words = (input.value || "").toLowerCase().split(/\s+/).filter(Boolean);
    if (!words.length || !state.titles) { state.hits = null; found.textContent = ""; draw(); return; }
    var hits = [];
    for (var i = 0; i < state.titles.length; i++) {
      var title = state.titles[i].toLowerCase();
      if (words.every(function (w) { return title.indexOf(w) >= 0; })) hits.push(i);
    }
    state.hits = hits;
    found.textContent = hits.length + " of " + state.titles.length + " papers";
    draw();
  }
  // Enter: the period's best hits by words and meaning, from the server
  document.getElementById("map-search").addEventListener("submit", function (event) {
    event.preventDefault();
    var q = (input.value || "").trim();
    if (!q) { search(); return; }
    var path = "/map/search.json?q=" + encodeURIComponent(q) + (query ? "&" + query : "");
    fetch(path, { credentials: "same-origin" }).then(function (answer) { return answer.json(); })
      .then(function (found_) {
        state.hits = found_.hits || [];
        found.textContent = state.hits.length + " best matches by " +
          (found_.mode === "hybrid" ? "words and meaning" : "words");
        draw();
      }).catch(function () { search(); });
  });
  input.addEventListener("input", search);

  function legend(cats) {
    var box = document.getElementById("map-legend");
    cats.slice(0, PALETTE.length).forEach(function (name, index) {
      var chip = document.createElement("span"), dot = document.createElement("span");
      chip.className = "chip"; dot.className = "swatch"; dot.style.background = colour(index);
      chip.appendChild(dot); chip.appendChild(document.createTextNode(name));
      box.appendChild(chip);
    });
    if (cats.length > PALETTE.length) {
      var rest = document.createElement("span"), grey = document.createElement("span");
      rest.className = "chip"; grey.className = "swatch"; grey.style.background = OTHER;
      rest.appendChild(grey); rest.appendChild(document.createTextNode("other categories"));
      box.appendChild(rest);
    }
  }

  function json(path) {
    return fetch(url(path), { credentials: "same-origin" }).then(function (answer) {
      if (!answer.ok) throw new Error("HTTP " + answer.status);
      return answer.json();
    });
  }

  json("/map/points.json").then(function (points) {
    api.pointsParsed = performance.now();
    state.points = points;
    if (!points.count) { status.textContent = "No paper of this period is on the map yet (it is computed in the background after embedding)."; return; }
    status.textContent = points.count.toLocaleString() + " papers" + (points.truncated ? " (the newest)" : "");
    legend(points.cats);
    draw();
    json("/map/titles.json").then(function (t) { state.titles = t.titles; state.ids = t.ids; search(); });
    json("/map/mine.json").then(function (m) { state.mine = new Set(m.upvoted); draw(); });
  }).catch(function (error) { status.textContent = "The map did not load (" + error.message + ")."; });
})();
