/* The map of one place: a notice page (the closed extent, the detour, the fences, the open
   entrances) and a facility page (the facility and the part closed now). The page writes the
   section (templates/public/_map.html, place_map) hidden, with one hidden
   <span data-shape="ROLE" data-geometry="GEOJSON" [data-status]> per drawing: closure data
   only, the same bytes for every reader. This script reveals the section and draws them; with
   nothing drawable it stays hidden, and without JS the page is its words alone.

   Roles, bottom to top: facility (grey: the whole facility, for context), extent (red: the
   closed part, dashed when only planned), fences (black dots), detour (blue dashes with an
   arrowhead where it ends, and its label), entrances (green dots). The legend in the section
   says the same in words; kinds not drawn are hidden from it. The drawing is aria-hidden and
   takes no pointer or keyboard focus; the page's words (the detour under "Detour") are the
   text alternative. Shapes go through FacilitiesMap.geoJSON / toDisplay, so they are shifted
   for display on a GCJ-02 tile source. When drawn, the section gets data-drawn (the number of
   drawings) and data-detour-drawn (detour lines drawn). */
(function () {
  "use strict";

  var kit = window.FacilitiesMap;
  var RED = "#b42318";
  var STYLES = {
    facility: { color: "#667085", weight: 5, opacity: 0.7, fillColor: "#98a2b3", fillOpacity: 0.25 },
    fences: { color: "#101828", weight: 4, dashArray: "1 7", lineCap: "round", fill: false },
    detour: { color: "#1d4ed8", weight: 5, dashArray: "12 8", lineCap: "round", fill: false }
  };
  var ORDER = ["facility", "extent", "fences", "detour", "entrances"];

  function extentStyle(planned) {
    return {
      color: RED, weight: 8, opacity: 0.9, lineCap: planned ? "butt" : "round",
      dashArray: planned ? "10 7" : null, fillColor: RED, fillOpacity: planned ? 0.1 : 0.35
    };
  }

  function read(element) {
    try {
      var geometry = JSON.parse(element.getAttribute("data-geometry") || "");
      return geometry && typeof geometry.type === "string" ? geometry : null;
    } catch (error) {
      return null;  // a drawing we cannot read is left out; the words stay
    }
  }

  function lines(geometry) {
    if (geometry.type === "LineString") { return [geometry.coordinates]; }
    if (geometry.type === "MultiLineString") { return geometry.coordinates; }
    return [];
  }

  // An arrowhead at the end of each detour line, turned along its last segment (Web Mercator
  // keeps angles, so one angle holds at every zoom), with the detour's label beside it.
  function arrowheads(geometry, gcj, label) {
    var group = [];
    lines(geometry).forEach(function (coordinates) {
      if (coordinates.length < 2) { return; }
      var end = kit.toDisplay(coordinates[coordinates.length - 1], gcj);
      var before = kit.toDisplay(coordinates[coordinates.length - 2], gcj);
      var a = L.CRS.EPSG3857.project(before);
      var b = L.CRS.EPSG3857.project(end);
      var degrees = -Math.atan2(b.y - a.y, b.x - a.x) * 180 / Math.PI;
      var head = document.createElement("span");
      head.className = "place-arrow";
      head.style.transform = "rotate(" + degrees.toFixed(1) + "deg)";
      var marker = L.marker(end, {
        interactive: false,
        keyboard: false,
        icon: L.divIcon({ className: "place-arrow-icon", html: head, iconSize: [18, 18] })
      });
      if (label) {
        var text = document.createElement("span");
        text.textContent = label;
        marker.bindTooltip(text, {
          permanent: true, direction: "right", offset: [10, 0], className: "place-label",
          interactive: false, opacity: 1
        });
      }
      group.push(marker);
    });
    return group;
  }

  function layerFor(role, geometry, status, gcj) {
    var planned = status === "planned";
    var style = role === "extent" ? extentStyle(planned) : STYLES[role];
    var dot = role === "entrances"
      ? { radius: 7, color: "#ffffff", weight: 2, fillColor: "#067647", fillOpacity: 1 }
      : { radius: role === "extent" ? 10 : 7, color: style ? style.color : "#667085", weight: 3,
          fillColor: style ? style.color : "#667085", fillOpacity: planned ? 0.15 : 0.6 };
    return kit.geoJSON(geometry, {
      interactive: false,
      style: function () { return L.extend({ className: "place-" + role }, style || {}); },
      pointToLayer: function (feature, latlng) {
        return L.circleMarker(latlng, L.extend({ className: "place-" + role, interactive: false }, dot));
      }
    }, gcj);
  }

  function draw(section, canvas, shapes) {
    var gcj = kit.settings(section).gcj;
    var map = kit.create(canvas, section, { dragging: !L.Browser.mobile, maxZoom: 19 });
    var everything = L.featureGroup();
    var seen = {};
    var detours = 0;
    ORDER.forEach(function (role) {
      shapes.forEach(function (shape) {
        if (shape.role !== role) { return; }
        everything.addLayer(layerFor(role, shape.geometry, shape.status, gcj));
        seen[role === "extent" ? "extent-" + (shape.status === "planned" ? "planned" : "in-force") : role] = true;
        if (role === "detour") {
          detours += lines(shape.geometry).length;
          arrowheads(shape.geometry, gcj, section.getAttribute("data-detour-label") || "")
            .forEach(function (marker) { everything.addLayer(marker); });
        }
      });
    });
    everything.addTo(map);
    map.fitBounds(everything.getBounds(), { padding: [32, 32], maxZoom: 18 });
    kit.unfocusable(canvas);
    var legend = section.querySelectorAll("[data-legend]");
    for (var i = 0; i < legend.length; i++) {
      if (!seen[legend[i].getAttribute("data-legend")]) { legend[i].hidden = true; }
    }
    section.setAttribute("data-detour-drawn", String(detours));
    section.setAttribute("data-drawn", String(shapes.length));
  }

  function start() {
    var section = document.getElementById("place-map");
    var canvas = section && section.querySelector(".map-canvas");
    if (!section || !canvas || !window.L || !kit) { return; }
    var shapes = [];
    var found = section.querySelectorAll("[data-shape]");
    for (var i = 0; i < found.length; i++) {
      var role = found[i].getAttribute("data-shape");
      var geometry = read(found[i]);
      if (geometry && ORDER.indexOf(role) >= 0) {
        shapes.push({ role: role, geometry: geometry, status: found[i].getAttribute("data-status") || "" });
      }
    }
    if (!shapes.length) { return; }  // nothing to draw: the words say it all
    section.hidden = false;  // shown before drawing: Leaflet needs the canvas's size
    try {
      draw(section, canvas, shapes);
    } catch (error) {
      section.hidden = true;  // the page's words stand alone
    }
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
}());
