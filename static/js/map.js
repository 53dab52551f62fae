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
   data-crs="gcj02" every marker is shifted by wgs84ToGcj02 below before it is placed. */
(function () {
  "use strict";

  // WGS-84 -> GCJ-02: the standard published formula (the "eviltransform" / coordtransform one,
  // also in facilities/lib/geo.py): the Krasovsky 1940 ellipsoid (a, ee) and two polynomial-and-
  // sine offsets of (lng - 105, lat - 35). Points outside China are not shifted (GCJ-02 applies
  // within China only). Accurate to about a metre against the official obfuscation.
  var A = 6378245.0;
  var EE = 0.00669342162296594323;

  function outOfChina(lng, lat) {
    return lng < 72.004 || lng > 137.8347 || lat < 0.8293 || lat > 55.8271;
  }

  function shiftLat(x, y) {
    var r = -100.0 + 2.0 * x + 3.0 * y + 0.2 * y * y + 0.1 * x * y + 0.2 * Math.sqrt(Math.abs(x));
    r += (20.0 * Math.sin(6.0 * x * Math.PI) + 20.0 * Math.sin(2.0 * x * Math.PI)) * 2.0 / 3.0;
    r += (20.0 * Math.sin(y * Math.PI) + 40.0 * Math.sin(y / 3.0 * Math.PI)) * 2.0 / 3.0;
    r += (160.0 * Math.sin(y / 12.0 * Math.PI) + 320.0 * Math.sin(y * Math.PI / 30.0)) * 2.0 / 3.0;
    return r;
  }

  function shiftLng(x, y) {
    var r = 300.0 + x + 2.0 * y + 0.1 * x * x + 0.1 * x * y + 0.1 * Math.sqrt(Math.abs(x));
    r += (20.0 * Math.sin(6.0 * x * Math.PI) + 20.0 * Math.sin(2.0 * x * Math.PI)) * 2.0 / 3.0;
    r += (20.0 * Math.sin(x * Math.PI) + 40.0 * Math.sin(x / 3.0 * Math.PI)) * 2.0 / 3.0;
    r += (150.0 * Math.sin(x / 12.0 * Math.PI) + 300.0 * Math.sin(x / 30.0 * Math.PI)) * 2.0 / 3.0;
    return r;
  }

  function wgs84ToGcj02(lng, lat) {
    if (outOfChina(lng, lat)) { return [lng, lat]; }
    var dLat = shiftLat(lng - 105.0, lat - 35.0);
    var dLng = shiftLng(lng - 105.0, lat - 35.0);
    var radLat = lat / 180.0 * Math.PI;
    var magic = Math.sin(radLat);
    magic = 1 - EE * magic * magic;
    var sqrtMagic = Math.sqrt(magic);
    dLat = (dLat * 180.0) / ((A * (1 - EE)) / (magic * sqrtMagic) * Math.PI);
    dLng = (dLng * 180.0) / (A / sqrtMagic * Math.cos(radLat) * Math.PI);
    return [lng + dLng, lat + dLat];
  }

  function paragraph(text, className) {
    var p = document.createElement("p");
    if (className) { p.className = className; }
    p.textContent = text;
    return p;
  }

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

  function unfocusable(element) {
    // The drawing is aria-hidden: nothing in it may take the keyboard focus (the list is the
    // keyboard's way to every notice).
    var found = element.querySelectorAll("a, button, [tabindex]");
    for (var i = 0; i < found.length; i++) { found[i].setAttribute("tabindex", "-1"); }
  }

  function draw(section, canvas, features) {
    var lang = section.getAttribute("data-lang") === "en" ? "en" : "zh";
    var readNotice = section.getAttribute("data-read-notice") || "";
    var tiles = section.getAttribute("data-tiles") || "none";
    var gcj = section.getAttribute("data-crs") === "gcj02";
    var still = !!(window.matchMedia && window.matchMedia("(prefers-reduced-motion: reduce)").matches);
    var map = L.map(canvas, {
      keyboard: false,
      zoomAnimation: !still,
      fadeAnimation: !still,
      markerZoomAnimation: !still,
      scrollWheelZoom: false,
      dragging: !L.Browser.mobile,  // one finger scrolls the page on a phone; two pinch-zoom
      attributionControl: false,  // the credit is text under the map (the template's)
      minZoom: 3,
      maxZoom: 18
    });
    if (tiles !== "none") {
      L.tileLayer(tiles, { maxZoom: 18 }).addTo(map);
    }
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
      var point = wgs84ToGcj02Maybe(feature.geometry.coordinates, gcj);
      var scope = scopeClass(props.scope);
      var status = statusClass(props.status);
      seen[scope.replace("scope-", "")] = true;
      seen[status.replace("status-", "")] = true;
      var marker = L.marker([point[1], point[0]], {
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
    unfocusable(canvas);
    map.on("popupopen", function (event) { unfocusable(event.popup.getElement()); });
    var legend = section.querySelectorAll("[data-legend]");
    for (var i = 0; i < legend.length; i++) {
      var kind = legend[i].getAttribute("data-legend");
      if (kind !== "cluster" && !seen[kind]) { legend[i].hidden = true; }
    }
    section.setAttribute("data-drawn", String(features.length));
  }

  function wgs84ToGcj02Maybe(coordinates, gcj) {
    var lng = Number(coordinates[0]);
    var lat = Number(coordinates[1]);
    return gcj ? wgs84ToGcj02(lng, lat) : [lng, lat];
  }

  function start() {
    var section = document.getElementById("closure-map");
    var canvas = section && section.querySelector(".map-canvas");
    if (!section || !canvas || !window.fetch || !window.L || !L.markerClusterGroup) { return; }
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
