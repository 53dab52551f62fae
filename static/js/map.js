/* The closure map beside the public lists (templates/public/_map.html). Progressive enhancement
   only: without this script (or without Leaflet) the section stays hidden and the page is the
   list, which is also what screen readers and keyboard users get (the drawing is aria-hidden and
   nothing in it takes the keyboard focus).

   Reads the GeoJSON feed: one Feature per closure in force or planned (properties.role
   "closure"; extra features with role "detour", "fences" or "entrances" belong to the notice
   page's map and are not drawn here). Each closure gets:
   - its closed extent (the feature's geometry: a line or an area) drawn in its scope's colour,
     solid when in force, dashed and lighter when planned, under the markers;
   - a marker at properties.marker ([lng, lat]; older feeds: the Point geometry; else the middle
     of the extent), clustered with leaflet.markercluster, coloured by scope and filled by status
     (the legend says both in words).
   Popups are built with DOM APIs and textContent, never innerHTML: names and sentences come
   from the feed as data. Every word the script adds comes from the section's data- attributes
   (rendered and translated by the template). Loaded as a same-origin file: the
   Content-Security-Policy allows no inline script.

   Settings (data- attributes) are read by static/js/mapkit.js, the base of every map: the tile
   source ("none": our own basemap, static/js/basemap.js), and its coordinate system (with
   data-crs="gcj02" every shape and marker is shifted for display). When drawn, the section
   gets data-drawn (closures placed) and data-extents (extents drawn). */
(function () {
  "use strict";

  var kit = window.FacilitiesMap;
  var paragraph = kit ? kit.paragraph : null;
  var COLOURS = { full: "#b42318", partial: "#c4320a", restricted: "#8f5d00", other: "#475467" };

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

  function statusKind(status) {
    return status === "planned" ? "planned" : "in-force";
  }

  function scopeKind(scope) {
    return ["full", "partial", "restricted"].indexOf(scope) >= 0 ? scope : "other";
  }

  function isPair(value) {
    return Array.isArray(value) && value.length >= 2 && isFinite(value[0]) && isFinite(value[1]) &&
      value[0] !== null && value[1] !== null;
  }

  // A closure of the feed (new shape: role "closure"; old shape: no role, a Point geometry).
  function isClosure(feature) {
    var role = feature && feature.properties && feature.properties.role;
    return !!feature && (role === "closure" || role === undefined || role === null);
  }

  function extentStyle(scope, status) {
    var planned = status === "planned";
    return {
      className: "closure-extent scope-" + scope + " status-" + status,
      color: COLOURS[scope],
      weight: 6,
      opacity: planned ? 0.85 : 0.9,
      dashArray: planned ? "8 6" : null,
      lineCap: planned ? "butt" : "round",
      fillColor: COLOURS[scope],
      fillOpacity: planned ? 0.08 : 0.3
    };
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
    var extents = L.featureGroup();
    var seen = {};
    var placed = 0;
    features.forEach(function (feature) {
      var props = feature.properties || {};
      var geometry = feature.geometry;
      var scope = scopeKind(props.scope);
      var status = statusKind(props.status);
      var shape = null;
      if (geometry && geometry.type !== "Point" && geometry.type !== "MultiPoint") {
        shape = kit.geoJSON(geometry, { interactive: false, style: extentStyle(scope, status) }, gcj);
        extents.addLayer(shape);
        seen.extent = true;
      }
      var where = null;
      if (isPair(props.marker)) {
        where = kit.toDisplay(props.marker, gcj);
      } else if (geometry && geometry.type === "Point") {
        where = kit.toDisplay(geometry.coordinates, gcj);
      } else if (shape) {
        where = shape.getBounds().getCenter();
      }
      if (!where) { return; }  // nowhere to place it: the list has it
      seen[scope] = true;
      seen[status] = true;
      placed += 1;
      var marker = L.marker(where, {
        keyboard: false,
        title: props["name_" + lang] || props.name_zh || "",  // a mouse hover names it
        icon: L.divIcon({
          className: "map-marker scope-" + scope + " status-" + status,
          html: "",
          iconSize: [22, 22]
        })
      });
      marker.bindPopup(popupFor(props, lang, readNotice));
      clusters.addLayer(marker);
    });
    map.addLayer(extents);
    map.addLayer(clusters);
    var bounds = L.latLngBounds([]);
    if (clusters.getLayers().length) { bounds.extend(clusters.getBounds()); }
    if (extents.getLayers().length) { bounds.extend(extents.getBounds()); }
    map.fitBounds(bounds, { padding: [24, 24], maxZoom: 16 });
    kit.unfocusable(canvas);
    map.on("popupopen", function (event) { kit.unfocusable(event.popup.getElement()); });
    var legend = section.querySelectorAll("[data-legend]");
    for (var i = 0; i < legend.length; i++) {
      var kind = legend[i].getAttribute("data-legend");
      if (kind !== "cluster" && !seen[kind]) { legend[i].hidden = true; }
    }
    section.setAttribute("data-extents", String(extents.getLayers().length));
    section.setAttribute("data-drawn", String(placed));
  }

  function placeable(feature) {
    var props = feature.properties || {};
    return isPair(props.marker) || !!(feature.geometry && feature.geometry.type);
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
          return isClosure(feature) && placeable(feature);
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
