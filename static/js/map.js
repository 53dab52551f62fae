/* The closure map beside the public lists (templates/public/_map.html). Progressive enhancement
   only: without this script (or without Leaflet) the section stays hidden and the page is the
   list, which is also what screen readers and keyboard users get (the drawing is aria-hidden and
   nothing in it takes the keyboard focus).

   Reads the GeoJSON feed (closures in force, one point each) and draws one marker per closure,
   clustered with leaflet.markercluster, coloured by scope and filled by status (the legend says
   both in words). Popups are built with DOM APIs and textContent, never innerHTML: names and
   sentences come from the feed as data. Every word the script adds comes from the section's
   data- attributes (rendered and translated by the template). Loaded as a same-origin file: the
   Content-Security-Policy allows no inline script.

   Settings (data- attributes): data-tiles is "none" (no basemap at all: a plain background, the
   map still fits the closures) or a URL template; data-crs is the coordinate system the tiles
   are drawn in. Our coordinates are WGS-84; AMap and Tencent tiles are drawn in GCJ-02, so with
   data-crs="gcj02" every marker is shifted for display (static/js/mapkit.js, the base of every
   map). */
(function () {
  "use strict";

  var kit = window.FacilitiesMap;
  var paragraph = kit ? kit.paragraph : null;

  function popupFor(props, lang, readNotice) {
    var box = document.createElement("div");
    box.className = "map-popup";
    box.setAttribute("lang", lang === "en" ? "en" : "zh-CN");
    box.appendChild(paragraph(props["name_" + lang] || props.name_zh || "", "map-popup-name"));
    box.appendChild(paragraph(props["headline_" + lang] || props["scope_label_" + lang] || ""));
    if (props.status !== "lifted" && props["expected_reopening_" + lang]) {
      box.appendChild(paragraph(props["expected_reopening_" + lang], "muted"));
    }
    var link = document.createElement("a");
    link.href = "/notices/" + encodeURIComponent(String(props.closure_id));
    link.textContent = readNotice;
    box.appendChild(link);
    return box;
  }

  function statusClass(status) {
    return status === "planned" ? "status-planned" : "status-in-force";
  }

  function scopeClass(scope) {
    return ["full", "partial", "restricted"].indexOf(scope) >= 0 ? "scope-" + scope : "scope-other";
  }

  function draw(section, canvas, features) {
    var lang = section.getAttribute("data-lang") === "en" ? "en" : "zh";
    var readNotice = section.getAttribute("data-read-notice") || "";
    var gcj = kit.settings(section).gcj;
    var still = kit.stillMotion();
    var map = kit.create(canvas, section, {
      dragging: !L.Browser.mobile,  // one finger scrolls the page on a phone; two pinch-zoom
      maxZoom: 18
    });
    var clusters = L.markerClusterGroup({
      showCoverageOnHover: false,
      animate: !still,
      iconCreateFunction: function (cluster) {
        var count = document.createElement("span");
        count.textContent = String(cluster.getChildCount());
        return L.divIcon({ html: count, className: "map-cluster", iconSize: [36, 36] });
      }
    });
    var seen = {};
    features.forEach(function (feature) {
      var props = feature.properties || {};
      var point = kit.toDisplay(feature.geometry.coordinates, gcj);
      var scope = scopeClass(props.scope);
      var status = statusClass(props.status);
      seen[scope.replace("scope-", "")] = true;
      seen[status.replace("status-", "")] = true;
      var marker = L.marker(point, {
        keyboard: false,
        title: props["name_" + lang] || props.name_zh || "",  // a mouse hover names it
        icon: L.divIcon({
          className: "map-marker " + scope + " " + status,
          html: "",
          iconSize: [22, 22]
        })
      });
      marker.bindPopup(popupFor(props, lang, readNotice));
      clusters.addLayer(marker);
    });
    map.addLayer(clusters);
    map.fitBounds(clusters.getBounds(), { padding: [24, 24], maxZoom: 16 });
    kit.unfocusable(canvas);
    map.on("popupopen", function (event) { kit.unfocusable(event.popup.getElement()); });
    var legend = section.querySelectorAll("[data-legend]");
    for (var i = 0; i < legend.length; i++) {
      var kind = legend[i].getAttribute("data-legend");
      if (kind !== "cluster" && !seen[kind]) { legend[i].hidden = true; }
    }
    section.setAttribute("data-drawn", String(features.length));
  }

  function start() {
    var section = document.getElementById("closure-map");
    var canvas = section && section.querySelector(".map-canvas");
    if (!section || !canvas || !window.fetch || !window.L || !L.markerClusterGroup || !kit) { return; }
    fetch(section.getAttribute("data-feed"), { headers: { Accept: "application/geo+json" } })
      .then(function (response) {
        if (!response.ok) { throw new Error("feed " + response.status); }
        return response.json();
      })
      .then(function (collection) {
        var features = (collection.features || []).filter(function (feature) {
          return feature.geometry && feature.geometry.type === "Point";
        });
        if (!features.length) { return; }  // nothing to place: the list says it all
        section.hidden = false;  // shown before drawing: Leaflet needs the canvas's size
        draw(section, canvas, features);
      })
      .catch(function () { section.hidden = true; });  // the list stands alone
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
}());
