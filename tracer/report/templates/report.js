/* heisttrace case file: interactive graph and details panel.
 * Data comes from the JSON block #heisttrace-data; every string from it is shown through
 * textContent (never innerHTML), so labels and token names render as text. */
(function () {
  "use strict";
  var data = JSON.parse(document.getElementById("heisttrace-data").textContent);
  var api = { ready: false, cy: null, selected: null };
  window.heisttrace = api;

  var nodesById = {};
  var edgesById = {};
  data.graph.nodes.forEach(function (n) { nodesById[n.id] = n; });
  data.graph.edges.forEach(function (e) { edgesById[e.id] = e; });

  var panel = document.getElementById("details");

  function clear(el) { while (el.firstChild) { el.removeChild(el.firstChild); } }

  function add(parent, tag, text, cls) {
    var el = document.createElement(tag);
    if (text !== undefined && text !== null) { el.textContent = String(text); }
    if (cls) { el.className = cls; }
    parent.appendChild(el);
    return el;
  }

  function link(parent, url, text) {
    if (typeof url === "string" && url.indexOf("https://") === 0) {
      var a = add(parent, "a", text);
      a.href = url;
      a.rel = "noopener noreferrer";
      a.target = "_blank";
      return a;
    }
    return add(parent, "span", text);
  }

  function row(dl, name, value) {
    add(dl, "dt", name);
    return add(dl, "dd", value);
  }

  function showNode(id) {
    var n = nodesById[id];
    if (!n) { return false; }
    clear(panel);
    panel.dataset.kind = "node";
    panel.dataset.id = id;
    add(panel, "h3", n.label || n.short);
    var dl = add(panel, "dl");
    var dd = row(dl, "address", "");
    link(dd, n.url, n.address).className = "mono";
    row(dl, "chain", n.chain);
    row(dl, "role", n.role);
    row(dl, "category", n.category || "\u2014");
    row(dl, "label source", n.label_source || "\u2014");
    row(dl, "hop", n.hop === null ? "\u2014" : n.hop);
    row(dl, "first tainted", n.first || "\u2014");
    row(dl, "taint in", n.tin.join("; ") || "\u2014");
    row(dl, "taint out", n.tout.join("; ") || "\u2014");
    row(dl, "share of its assets", n.share);
    row(dl, "counterparties", n.senders + " senders, " + n.receivers + " receivers");
    if (n.swaps.length) {
      add(panel, "h4", "Swaps");
      var ul = add(panel, "ul");
      n.swaps.forEach(function (s) {
        var li = add(ul, "li");
        add(li, "span", s.text + " ");
        link(li, s.url, s.tx).className = "mono";
      });
    }
    if (api.cy) {
      api.cy.$(":selected").unselect();
      var el = api.cy.getElementById(id);
      if (el && el.length) { el.select(); }
    }
    api.selected = id;
    return true;
  }

  function showEdge(id) {
    var e = edgesById[id];
    if (!e) { return false; }
    clear(panel);
    panel.dataset.kind = "edge";
    panel.dataset.id = id;
    add(panel, "h3", (nodesById[e.source] || {}).short + " \u2192 " + (nodesById[e.target] || {}).short);
    var dl = add(panel, "dl");
    row(dl, "tainted", e.amounts);
    row(dl, "transfers", e.count);
    if (e.swap) { row(dl, "swap", "leg of a swap (taint changed asset here)"); }
    var ul = add(panel, "ul");
    e.txs.forEach(function (t) {
      var li = add(ul, "li");
      link(li, t.url, t.short).className = "mono";
      add(li, "span", " " + t.amount + " \u00b7 " + t.time);
    });
    if (e.count > e.txs.length) { add(panel, "p", "\u2026 and " + (e.count - e.txs.length) + " more in flows.csv", "note"); }
    api.selected = id;
    return true;
  }

  api.selectNode = showNode;
  api.selectEdge = showEdge;
  api.nodeIds = function () { return data.graph.nodes.map(function (n) { return n.id; }); };

  var container = document.getElementById("graph-canvas");
  if (typeof cytoscape !== "function" || !container) { return; }
  var elements = [];
  data.graph.nodes.forEach(function (n) {
    elements.push({ group: "nodes", data: { id: n.id, name: n.short, size: n.size, color: n.color, kind: n.kind },
                    position: { x: n.x, y: n.y }, classes: n.classes });
  });
  data.graph.edges.forEach(function (e) {
    elements.push({ group: "edges", data: { id: e.id, source: e.source, target: e.target, width: e.width, name: e.label },
                    classes: e.swap ? "swap" : "" });
  });
  var big = data.graph.nodes.length > 150;
  var cy = cytoscape({
    container: container,
    elements: elements,
    layout: { name: "preset", fit: true, padding: 30 },
    minZoom: 0.05,
    maxZoom: 4,
    textureOnViewport: big,
    hideEdgesOnViewport: big,
    pixelRatio: 1,
    style: [
      { selector: "node", style: { "background-color": "data(color)", width: "data(size)", height: "data(size)",
        label: "data(name)", "font-size": 9, "text-valign": "bottom", "text-margin-y": 3, color: "#222",
        "text-max-width": 120, "text-wrap": "ellipsis", "border-width": 1, "border-color": "#555", "min-zoomed-font-size": 7 } },
      { selector: "node.seed", style: { shape: "diamond", "border-width": 2, "border-color": "#7a0b0b" } },
      { selector: "node.endpoint", style: { shape: "round-rectangle", "border-width": 3, "border-color": "#111" } },
      { selector: "node.dex", style: { shape: "hexagon" } },
      { selector: "node.external", style: { "border-style": "dashed", "border-color": "#888" } },
      { selector: "node.swapper", style: { "border-width": 4, "border-color": "#ff7f0e", "border-style": "double" } },
      { selector: "node:selected", style: { "overlay-color": "#1f77b4", "overlay-opacity": 0.35, "overlay-padding": 6 } },
      { selector: "edge", style: { width: "data(width)", "line-color": "#9aa5b1", "target-arrow-color": "#9aa5b1",
        "target-arrow-shape": "triangle", "curve-style": "bezier", "arrow-scale": 0.8, opacity: 0.85 } },
      { selector: "edge.swap", style: { "line-color": "#ff7f0e", "target-arrow-color": "#ff7f0e", "line-style": "dashed" } },
      { selector: "edge:selected", style: { "line-color": "#1f77b4", "target-arrow-color": "#1f77b4" } }
    ]
  });
  api.cy = cy;
  cy.on("tap", "node", function (evt) { showNode(evt.target.id()); });
  cy.on("tap", "edge", function (evt) { showEdge(evt.target.id()); });

  function bind(id, fn) { var b = document.getElementById(id); if (b) { b.addEventListener("click", fn); } }
  bind("graph-fit", function () { cy.fit(undefined, 30); });
  bind("graph-in", function () { cy.zoom({ level: cy.zoom() * 1.4, renderedPosition: { x: container.clientWidth / 2, y: container.clientHeight / 2 } }); });
  bind("graph-out", function () { cy.zoom({ level: cy.zoom() / 1.4, renderedPosition: { x: container.clientWidth / 2, y: container.clientHeight / 2 } }); });
  var search = document.getElementById("graph-search");
  if (search) {
    search.addEventListener("change", function () {
      var q = search.value.trim().toLowerCase();
      if (!q) { return; }
      var hit = data.graph.nodes.filter(function (n) {
        return n.address.toLowerCase().indexOf(q) >= 0 || (n.label || "").toLowerCase().indexOf(q) >= 0;
      })[0];
      if (hit) { showNode(hit.id); cy.animate({ center: { eles: cy.getElementById(hit.id) }, zoom: 1.5 }, { duration: 200 }); }
    });
  }
  document.querySelectorAll("[data-node]").forEach(function (el) {
    el.addEventListener("click", function (evt) {
      if (showNode(el.getAttribute("data-node"))) {
        evt.preventDefault();
        document.getElementById("graph").scrollIntoView();
      }
    });
  });
  cy.ready(function () {
    api.ready = true;
    document.documentElement.setAttribute("data-graph-ready", "1");
  });
})();
