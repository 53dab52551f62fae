/* The staff maps (templates/assets/map.html, templates/tickets/map.html, templates/reports/
   triage_map.html, templates/inspections/route.html), built on static/js/mapkit.js. The element
   #staff-map says what to draw with data-kind:

   - "assets": the rows of data-source (/assets/map.json) for the box in view, asked again when
     the map stops moving (debounced; a request still under way is aborted, so a stale answer
     never replaces a newer one) and when a filter changes. Clustered with
     leaflet.markercluster (chunkedLoading: 10,000 markers are added in slices without freezing
     the page), coloured by condition grade, ringed when closed or restricted, numbered with the
     open P0/P1 tickets, dotted when an inspection is due or overdue.
   - "points": the points of data-source (tickets or the triage queue), fetched once, coloured by
     the class each point names, clustered, each popup linking to its record.
   - "route": the ordered list on the page (each <li> carries data-lat/data-lng): numbered
     markers joined by a line in the list's order. The list is the accessible primary.

   Every word comes from the page (data-labels, translated by the template); names from the data
   are set with textContent, never innerHTML. The drawing is aria-hidden and takes no focus. */
(function () {
  "use strict";

  var kit = window.FacilitiesMap;

  function labelsOf(section) {
    try { return JSON.parse(section.getAttribute("data-labels") || "{}"); } catch (e) { return {}; }
  }

  function fill(template, count) {
    return String(template || "").replace("%(count)s", String(count));
  }

  function link(href, text) {
    var a = document.createElement("a");
    a.href = href;
    a.textContent = text;
    return a;
  }

  // ``done`` runs once every marker handed to addLayers is in (chunkedLoading adds them in
  // slices between frames, so the page stays responsive with 10,000 of them).
  function clusterGroup(still, done) {
    return L.markerClusterGroup({
      showCoverageOnHover: false,
      chunkedLoading: true,
      chunkProgress: function (processed, total) {
        if (done && processed === total) { done(); }
      },
      animate: !still,
      iconCreateFunction: function (cluster) {
        var count = document.createElement("span");
        count.textContent = String(cluster.getChildCount());
        return L.divIcon({ html: count, className: "map-cluster", iconSize: [36, 36] });
      }
    });
  }

  function boxOf(extent) {
    var parts = (extent || "").split(",").map(Number);
    if (parts.length !== 4 || parts.some(isNaN)) { return null; }
    return parts;  // west, south, east, north
  }

  function fitBox(map, box, gcj) {
    var sw = kit.toDisplay([box[0], box[1]], gcj);
    var ne = kit.toDisplay([box[2], box[3]], gcj);
    if (sw.equals(ne)) { map.setView(sw, 17); } else { map.fitBounds(L.latLngBounds(sw, ne), { padding: [16, 16] }); }
  }

  // --- assets ---------------------------------------------------------------------------

  function assetMarker(row, at, labels, data) {
    var grade = row[at.grade] || "none";
    var status = data.statuses[row[at.status]] || "in_service";
    var urgent = row[at.urgent] || 0;
    var due = row[at.due] || "";
    var body = document.createElement("span");
    if (urgent) { body.textContent = String(urgent); }
    if (due) {
      var dot = document.createElement("span");
      dot.className = "staff-due-dot" + (due === "overdue" ? " is-overdue" : "");
      body.appendChild(dot);
    }
    var marker = L.marker(kit.toDisplay([row[at.lng], row[at.lat]], labels.gcj), {
      keyboard: false,
      title: row[at.code] + " " + row[at.name],
      icon: L.divIcon({
        className: "staff-marker staff-grade-" + grade + " staff-status-" + status,
        html: body,
        iconSize: [22, 22]
      })
    });
    marker.bindPopup(function () {
      var box = document.createElement("div");
      box.className = "map-popup";
      box.appendChild(kit.paragraph(row[at.code] + " · " + row[at.name], "map-popup-name"));
      box.appendChild(kit.paragraph((labels.types || [])[row[at.type]] || ""));
      box.appendChild(kit.paragraph(labels.grade + ": " + ((labels.grades || {})[grade] || labels.ungraded)));
      box.appendChild(kit.paragraph(labels.status + ": " + ((labels.statuses || [])[row[at.status]] || "")));
      if (urgent) { box.appendChild(kit.paragraph(fill(labels.urgent, urgent))); }
      if (due) { box.appendChild(kit.paragraph(due === "overdue" ? labels.overdue : labels.due)); }
      box.appendChild(link("/assets/" + encodeURIComponent(String(row[at.id])), labels.open));
      return box;
    });
    return marker;
  }

  function drawAssets(section, canvas) {
    var labels = labelsOf(section);
    var gcj = kit.settings(section).gcj;
    labels.gcj = gcj;
    var status = section.querySelector(".staff-map-status");
    var form = document.getElementById("staff-map-filters");
    var map = kit.create(canvas, section, { maxZoom: 19 });
    var clusters = clusterGroup(kit.stillMotion(), function () {
      if (window.performance) { section.setAttribute("data-complete-at", String(Math.round(performance.now()))); }
    });
    map.addLayer(clusters);
    var pending = null;
    var timer = null;
    var asked = 0;

    function query() {
      var params = new URLSearchParams(form ? new FormData(form) : undefined);
      var b = map.getBounds();
      var sw = kit.fromDisplay(b.getSouthWest(), gcj);
      var ne = kit.fromDisplay(b.getNorthEast(), gcj);
      params.set("bbox", [sw[0], sw[1], ne[0], ne[1]].map(function (n) { return n.toFixed(6); }).join(","));
      var limit = section.getAttribute("data-limit");
      if (limit) { params.set("limit", limit); }
      return params.toString();
    }

    function load() {
      if (pending) { pending.abort(); }
      var controller = window.AbortController ? new AbortController() : null;
      pending = controller;
      var number = ++asked;
      var started = window.performance ? performance.now() : 0;
      fetch(section.getAttribute("data-source") + "?" + query(), {
        headers: { Accept: "application/json" },
        credentials: "same-origin",
        signal: controller ? controller.signal : undefined
      })
        .then(function (response) {
          if (!response.ok) { throw new Error("map data " + response.status); }
          return response.json();
        })
        .then(function (data) {
          if (number !== asked) { return; }
          var at = {};
          data.fields.forEach(function (name, index) { at[name] = index; });
          var markers = data.rows.map(function (row) { return assetMarker(row, at, labels, data); });
          clusters.clearLayers();
          clusters.addLayers(markers);  // chunked: large sets are added slice by slice
          status.className = "staff-map-status" + (data.truncated ? " is-warning" : "");
          status.textContent = data.truncated ? fill(labels.truncated, data.count) : fill(labels.shown, data.count);
          section.setAttribute("data-drawn", String(data.rows.length));
          section.setAttribute("data-truncated", String(!!data.truncated));
          if (started) {
            section.setAttribute("data-render-ms", String(Math.round(performance.now() - started)));
            section.setAttribute("data-drawn-at", String(Math.round(performance.now())));
          }
          section.setAttribute("data-requests", String(number));
        })
        .catch(function (error) {
          if (error && error.name === "AbortError") { return; }
          status.className = "staff-map-status is-warning";
          status.textContent = labels.failed || "";
        });
    }

    function soon() {
      window.clearTimeout(timer);
      timer = window.setTimeout(load, 250);
    }

    var box = boxOf(section.getAttribute("data-extent"));
    if (box) { fitBox(map, box, gcj); } else { map.setView(kit.toDisplay([112.58, 26.89], gcj), 13); }
    map.on("moveend", soon);
    if (form) {
      form.addEventListener("change", function () {
        if (window.history && history.replaceState) {
          var shown = new URLSearchParams(new FormData(form)).toString();
          history.replaceState(null, "", form.getAttribute("action") + (shown ? "?" + shown : ""));
        }
        soon();
      });
    }
    kit.unfocusable(canvas);
    map.on("popupopen", function (event) { kit.unfocusable(event.popup.getElement()); });
    load();
  }

  // --- points (tickets, triage) -----------------------------------------------------------

  function drawPoints(section, canvas) {
    var labels = labelsOf(section);
    var gcj = kit.settings(section).gcj;
    var status = section.querySelector(".staff-map-status");
    fetch(section.getAttribute("data-source"), { headers: { Accept: "application/json" }, credentials: "same-origin" })
      .then(function (response) {
        if (!response.ok) { throw new Error("map data " + response.status); }
        return response.json();
      })
      .then(function (data) {
        var map = kit.create(canvas, section, { maxZoom: 19 });
        var clusters = clusterGroup(kit.stillMotion());
        var markers = data.points.map(function (p) {
          // [lng, lat, class, title, detail, href]
          var marker = L.marker(kit.toDisplay([p[0], p[1]], gcj), {
            keyboard: false,
            title: p[3],
            icon: L.divIcon({ className: "staff-marker " + p[2], html: "", iconSize: [22, 22] })
          });
          marker.bindPopup(function () {
            var box = document.createElement("div");
            box.className = "map-popup";
            box.appendChild(kit.paragraph(p[3], "map-popup-name"));
            if (p[4]) { box.appendChild(kit.paragraph(p[4])); }
            box.appendChild(link(p[5], labels.open || ""));
            return box;
          });
          return marker;
        });
        clusters.addLayers(markers);
        map.addLayer(clusters);
        if (markers.length) {
          map.fitBounds(clusters.getBounds(), { padding: [24, 24], maxZoom: 17 });
        } else {
          map.setView(kit.toDisplay([112.58, 26.89], gcj), 13);
        }
        if (data.truncated) {
          status.className = "staff-map-status is-warning";
          status.textContent = fill(labels.truncated, markers.length);
        }
        kit.unfocusable(canvas);
        map.on("popupopen", function (event) { kit.unfocusable(event.popup.getElement()); });
        section.setAttribute("data-drawn", String(markers.length));
      })
      .catch(function () {
        status.className = "staff-map-status is-warning";
        status.textContent = labels.failed || "";
      });
  }

  // --- route (the inspector's day) ----------------------------------------------------------

  function drawRoute(section, canvas) {
    var gcj = kit.settings(section).gcj;
    var items = document.querySelectorAll("#route-list li[data-lat]");
    if (!items.length) { return; }
    var map = kit.create(canvas, section, { maxZoom: 19 });
    var line = [];
    var layer = L.featureGroup();
    for (var i = 0; i < items.length; i++) {
      var item = items[i];
      var at = kit.toDisplay([item.getAttribute("data-lng"), item.getAttribute("data-lat")], gcj);
      line.push(at);
      var number = document.createElement("span");
      number.textContent = item.getAttribute("data-step") || String(i + 1);
      L.marker(at, {
        keyboard: false,
        title: item.getAttribute("data-title") || "",
        icon: L.divIcon({
          className: "staff-marker staff-stop" + (item.getAttribute("data-overdue") === "true" ? " is-overdue" : ""),
          html: number,
          iconSize: [26, 26]
        })
      }).addTo(layer);
    }
    L.polyline(line, { color: "#1d3f8f", weight: 3, opacity: 0.8, dashArray: "6 6" }).addTo(layer);
    layer.addTo(map);
    map.fitBounds(layer.getBounds(), { padding: [24, 24], maxZoom: 17 });
    kit.unfocusable(canvas);
    section.setAttribute("data-drawn", String(items.length));
  }

  function start() {
    var section = document.getElementById("staff-map");
    var canvas = section && section.querySelector(".map-canvas");
    if (!section || !canvas || !window.fetch || !window.L || !kit) { return; }
    var kind = section.getAttribute("data-kind");
    if (kind !== "route" && !L.markerClusterGroup) { return; }
    section.hidden = false;  // shown before drawing: Leaflet needs the canvas's size
    if (kind === "assets") { drawAssets(section, canvas); }
    else if (kind === "points") { drawPoints(section, canvas); }
    else if (kind === "route") { drawRoute(section, canvas); }
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
}());
