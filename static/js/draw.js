/* Map editors for the staff's geometry fields (templates/macros/draw.html), built on
   static/js/mapkit.js and the vendored leaflet-geoman (static/vendor/leaflet-geoman).

   The textarea under each map is the source of truth and the only thing the form submits.
   Without this script it is the whole field (GeoJSON, WKT or "lat, lng", checked by the
   server). With it, the map shows the textarea's GeoJSON (WKT and "lat, lng" are shown once
   saved, when the server has stored GeoJSON) and every drawing, vertex edit or deletion
   writes GeoJSON back into it: WGS-84, [lng, lat], rounded to 7 decimals by
   FacilitiesMap.fromDisplay, which also shifts GCJ-02 display coordinates back. Typing or
   pasting GeoJSON into the textarea redraws the map.

   A field allows only its kinds (data-draw-kinds); several shapes of a kind listed in
   data-draw-multi make one Multi* geometry, any other new shape replaces what was drawn. The
   length or area of the drawing is said in text under the map, live (it helps catch a 76.6 m
   bridge drawn 2 km long before saving; the server's check stays the authority). Faint
   reference drawings (the site, the facility, sibling fields) come from the JSON API and the
   form; they cannot be edited, but vertices snap to them. Words come from data- attributes
   (translated by the template); nothing is built with innerHTML. The drawing is aria-hidden
   and nothing in it takes the keyboard focus: the textarea is the accessible way in. */
(function () {
  "use strict";

  var kit = window.FacilitiesMap;
  if (!kit || !window.L || !L.PM) { return; }

  var KIND_OF = {
    Point: "point", MultiPoint: "point",
    LineString: "line", MultiLineString: "line",
    Polygon: "polygon", MultiPolygon: "polygon"
  };
  var SINGLE = { point: "Point", line: "LineString", polygon: "Polygon" };
  var MULTI = { point: "MultiPoint", line: "MultiLineString", polygon: "MultiPolygon" };
  var SHAPE_KIND = { Marker: "point", Line: "line", Polygon: "polygon" };
  var EARTH_RADIUS_M = 6371008.8;  // the mean radius: a sphere is close enough for a hint
  var EDITED = { color: "#1d3f8f", weight: 4 };

  // --- reading and writing GeoJSON -----------------------------------------------------

  // The geometry in a GeoJSON text (a geometry, a Feature or a FeatureCollection):
  // {empty: true} for no text, {geometry: ...} when read, null when it is not GeoJSON.
  function readText(text) {
    var trimmed = (text || "").trim();
    if (!trimmed) { return { empty: true }; }
    if (trimmed.charAt(0) !== "{") { return null; }
    var data;
    try { data = JSON.parse(trimmed); } catch (error) { return null; }
    var geometry = geometryOf(data);
    return geometry ? { geometry: geometry } : null;
  }

  function geometryOf(data) {
    if (!data || typeof data !== "object") { return null; }
    if (data.type === "Feature") { return geometryOf(data.geometry); }
    if (data.type === "FeatureCollection" && Array.isArray(data.features)) {
      var geometries = data.features.map(geometryOf).filter(Boolean);
      return geometries.length === 1 ? geometries[0]
        : { type: "GeometryCollection", geometries: geometries };
    }
    if (data.type === "GeometryCollection" && Array.isArray(data.geometries)) { return data; }
    if (KIND_OF[data.type] && Array.isArray(data.coordinates)) { return data; }
    return null;
  }

  // A geometry as single parts: [{kind, coordinates}], a Multi* split into its members.
  function partsOf(geometry) {
    var parts = [];
    if (!geometry) { return parts; }
    if (geometry.type === "GeometryCollection") {
      (geometry.geometries || []).forEach(function (g) { parts = parts.concat(partsOf(g)); });
      return parts;
    }
    var kind = KIND_OF[geometry.type];
    if (!kind) { return parts; }
    if (geometry.type.indexOf("Multi") === 0) {
      geometry.coordinates.forEach(function (c) { parts.push({ kind: kind, coordinates: c }); });
    } else {
      parts.push({ kind: kind, coordinates: geometry.coordinates });
    }
    return parts;
  }

  // Parts back into one geometry: a single shape, a Multi* of one kind, or (only for mixed
  // pasted text) a collection the server will name as not allowed.
  function geometryFrom(parts) {
    if (!parts.length) { return null; }
    var kind = parts[0].kind;
    var same = parts.every(function (p) { return p.kind === kind; });
    if (same && parts.length === 1) { return { type: SINGLE[kind], coordinates: parts[0].coordinates }; }
    if (same) {
      return { type: MULTI[kind], coordinates: parts.map(function (p) { return p.coordinates; }) };
    }
    return {
      type: "GeometryCollection",
      geometries: parts.map(function (p) { return { type: SINGLE[p.kind], coordinates: p.coordinates }; })
    };
  }

  function kindOfLayer(layer) {
    if (layer instanceof L.Marker) { return "point"; }
    if (layer instanceof L.Polygon) { return "polygon"; }
    if (layer instanceof L.Polyline) { return "line"; }
    return null;
  }

  // An editable layer for one part (display coordinates; GCJ-02 when the tiles are).
  function layerOf(part, gcj) {
    function shown(c) {
      if (!Array.isArray(c) || !isFinite(c[0]) || !isFinite(c[1])) { throw new Error("bad coordinates"); }
      return kit.toDisplay(c, gcj);
    }
    if (part.kind === "point") { return L.marker(shown(part.coordinates)); }
    if (part.kind === "line") { return L.polyline(part.coordinates.map(shown), EDITED); }
    var rings = part.coordinates.map(function (ring) {
      var open = ring.slice(0, ring.length > 1 && String(ring[0]) === String(ring[ring.length - 1]) ? -1 : ring.length);
      return open.map(shown);
    });
    return L.polygon(rings, EDITED);
  }

  // One editable layer as a part, in WGS-84.
  function partOf(layer, gcj) {
    function back(latlng) { return kit.fromDisplay(latlng, gcj); }
    var kind = kindOfLayer(layer);
    if (kind === "point") { return { kind: kind, coordinates: back(layer.getLatLng()) }; }
    if (kind === "line") {
      var points = layer.getLatLngs();
      return points.length >= 2 ? { kind: kind, coordinates: points.map(back) } : null;
    }
    if (kind === "polygon") {
      var rings = layer.getLatLngs();
      if (rings.length && !Array.isArray(rings[0])) { rings = [rings]; }
      rings = rings.filter(function (ring) { return ring.length >= 3; }).map(function (ring) {
        var coordinates = ring.map(back);
        coordinates.push(coordinates[0].slice());  // GeoJSON rings are closed
        return coordinates;
      });
      return rings.length ? { kind: kind, coordinates: rings } : null;
    }
    return null;
  }

  // --- measures (on WGS-84 coordinates, on a sphere: a hint, the server measures) ---------

  function radians(degrees) { return degrees * Math.PI / 180; }

  function distance(a, b) {
    var dLat = radians(b[1] - a[1]);
    var dLng = radians(b[0] - a[0]);
    var h = Math.sin(dLat / 2) * Math.sin(dLat / 2) +
      Math.cos(radians(a[1])) * Math.cos(radians(b[1])) * Math.sin(dLng / 2) * Math.sin(dLng / 2);
    return 2 * EARTH_RADIUS_M * Math.asin(Math.min(1, Math.sqrt(h)));
  }

  function lineLength(coordinates) {
    var total = 0;
    for (var i = 1; i < coordinates.length; i++) { total += distance(coordinates[i - 1], coordinates[i]); }
    return total;
  }

  function ringArea(ring) {
    var sum = 0;
    for (var i = 0; i < ring.length - 1; i++) {
      var p = ring[i];
      var q = ring[i + 1];
      sum += radians(q[0] - p[0]) * (2 + Math.sin(radians(p[1])) + Math.sin(radians(q[1])));
    }
    return Math.abs(sum * EARTH_RADIUS_M * EARTH_RADIUS_M / 2);
  }

  function polygonArea(rings) {
    return rings.reduce(function (total, ring, index) {
      return total + (index === 0 ? 1 : -1) * ringArea(ring);
    }, 0);
  }

  // --- words -------------------------------------------------------------------------

  function Words(box) {
    var lang = box.getAttribute("data-lang") === "en" ? "en" : "zh-CN";
    function word(name) { return box.getAttribute("data-word-" + name) || ""; }
    function number(value, digits) {
      return value.toLocaleString(lang, { minimumFractionDigits: digits, maximumFractionDigits: digits });
    }
    this.word = word;
    this.length = function (metres) {
      return metres < 1000 ? word("m").replace("{number}", number(metres, 1))
        : word("km").replace("{number}", number(metres / 1000, 1));
    };
    this.area = function (squareMetres) {
      return squareMetres < 10000 ? word("m2").replace("{number}", number(Math.round(squareMetres), 0))
        : word("ha").replace("{number}", number(squareMetres / 10000, 1));
    };
  }

  // --- the JSON API (the staff's session; each URL read once per page) --------------------

  var fetched = {};
  function getJSON(url) {
    if (!fetched[url]) {
      fetched[url] = fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } })
        .then(function (response) { return response.ok ? response.json() : null; })
        .catch(function () { return null; });
    }
    return fetched[url];
  }

  function positiveId(value) {
    var text = String(value || "").trim();
    return /^[1-9]\d{0,9}$/.test(text) ? text : "";
  }

  // --- one editor ------------------------------------------------------------------------

  function editor(box) {
    var form = box.closest("form");
    var name = box.getAttribute("data-draw-field");
    var textarea = form ? form.elements.namedItem(name) : null;
    if (!textarea || textarea.tagName !== "TEXTAREA") { return; }
    var kinds = (box.getAttribute("data-draw-kinds") || "").split(/\s+/).filter(Boolean);
    var multi = (box.getAttribute("data-draw-multi") || "").split(/\s+/).filter(Boolean);
    var words = new Words(box);
    var status = box.querySelector(".draw-status");
    var canvas = box.querySelector(".draw-canvas");

    box.hidden = false;
    var map = kit.create(canvas, box);
    var gcj = map.facilitiesGcj;
    map.setView([20, 110], 3);  // until something tells where to look
    box.facilitiesMap = map;  // for scripts and tests that need the map itself

    var drawn = L.featureGroup().addTo(map);
    var context = L.featureGroup().addTo(map);
    // Scenery (the offline basemap, drawn by basemap.js without the plugin in mind) is neither
    // editable, removable nor a snap target: only what is drawn here is.
    map.on("layeradd", function (event) {
      var layer = event.layer;
      if (drawn.hasLayer(layer) || layer._pmTempLayer || !layer.options || layer.options.interactive !== false) {
        return;
      }
      layer.options.pmIgnore = true;
      if (layer.options.snapIgnore === undefined) { layer.options.snapIgnore = true; }
    });
    var touched = false;  // the person has drawn: the view stays where they put it

    map.pm.setLang(box.getAttribute("data-lang") === "en" ? "en" : "zh");
    map.pm.setGlobalOptions({ layerGroup: drawn, snappable: true, snapDistance: 12, pathOptions: EDITED });
    map.pm.addControls({
      position: "topleft",
      drawMarker: kinds.indexOf("point") >= 0,
      drawPolyline: kinds.indexOf("line") >= 0,
      drawPolygon: kinds.indexOf("polygon") >= 0,
      drawRectangle: false,
      drawCircle: false,
      drawCircleMarker: false,
      drawText: false,
      cutPolygon: false,
      rotateMode: false,
      dragMode: false,
      editMode: true,
      removalMode: true
    });

    // Nothing in the aria-hidden drawing takes the focus, whatever the plugin adds later.
    kit.unfocusable(canvas);
    new MutationObserver(function () { kit.unfocusable(canvas); })
      .observe(canvas, { childList: true, subtree: true });

    function partsDrawn() {
      return drawn.getLayers().map(function (layer) { return partOf(layer, gcj); }).filter(Boolean);
    }

    function say(text, warning) {
      status.textContent = text;
      status.classList.toggle("draw-warning", !!warning);
    }

    function describe(parts) {
      if (!parts.length) { say(words.word("empty")); return; }
      var kind = parts[0].kind;
      if (kind === "line") {
        var metres = parts.reduce(function (t, p) { return t + (p.kind === "line" ? lineLength(p.coordinates) : 0); }, 0);
        var text = words.word("length").replace("{length}", words.length(metres));
        var stated = statedLength();
        if (stated !== null && parts.length === 1 && Math.abs(metres - stated) > Math.max(10, 0.25 * stated)) {
          // the server's tolerance (lib/geo.py check_length), repeated here only as a hint
          say(text + " " + words.word("mismatch").replace("{measured}", words.length(metres))
            .replace("{stated}", words.length(stated)), true);
          return;
        }
        say(text);
      } else if (kind === "polygon") {
        var area = parts.reduce(function (t, p) { return t + (p.kind === "polygon" ? polygonArea(p.coordinates) : 0); }, 0);
        say(words.word("area").replace("{area}", words.area(area)));
      } else {
        say(words.word("points").replace("{count}", String(parts.length)));
      }
    }

    function statedLength() {
      var field = box.getAttribute("data-context-length-field");
      var input = field ? form.elements.namedItem(field) : null;
      var value = input ? parseFloat(String(input.value).replace(",", ".")) : NaN;
      return isFinite(value) && value > 0 ? value : null;
    }

    // The drawing into the textarea (the form submits the textarea, nothing else).
    function write() {
      var parts = partsDrawn();
      var geometry = geometryFrom(parts);
      textarea.value = geometry ? JSON.stringify(geometry) : "";
      describe(parts);
      // sibling editors redraw it as a reference (a value set by script fires no "input")
      textarea.dispatchEvent(new CustomEvent("facilities:drawn"));
    }

    function watch(layer) {
      layer.on("pm:edit", write);
    }

    // The textarea onto the map (at start, and when GeoJSON is typed or pasted).
    function load() {
      var read = readText(textarea.value);
      drawn.clearLayers();
      if (read === null) { say(words.word("unreadable")); return; }
      var parts = partsOf(read.geometry);
      try {
        parts.forEach(function (part) {
          var layer = layerOf(part, gcj);
          drawn.addLayer(layer);
          watch(layer);
        });
      } catch (error) {
        drawn.clearLayers();
        say(words.word("unreadable"));
        return;
      }
      describe(parts);
    }

    map.on("pm:create", function (event) {
      touched = true;
      var kind = SHAPE_KIND[event.shape] || kindOfLayer(event.layer);
      var keepSameKind = multi.indexOf(kind) >= 0;
      drawn.getLayers().forEach(function (layer) {
        if (layer !== event.layer && (!keepSameKind || kindOfLayer(layer) !== kind)) {
          drawn.removeLayer(layer);
        }
      });
      if (!drawn.hasLayer(event.layer)) { drawn.addLayer(event.layer); }
      watch(event.layer);
      write();
    });
    map.on("pm:remove", function (event) {
      drawn.removeLayer(event.layer);
      write();
    });
    // the length so far while a line or an area is being drawn
    map.on("pm:drawstart", function (event) {
      var working = event.workingLayer;
      if (!(working instanceof L.Polyline)) { return; }
      touched = true;
      working.on("pm:vertexadded", function () {
        var part = partOf(working, gcj) || { kind: "line", coordinates: [] };
        if (part.coordinates.length >= 2) {
          say(words.word("length").replace("{length}", words.length(lineLength(
            part.kind === "polygon" ? part.coordinates[0].slice(0, -1) : part.coordinates))));
        }
      });
    });
    map.on("pm:drawend", function () { describe(partsDrawn()); });
    textarea.addEventListener("input", function () { load(); });

    // --- reference drawings ---

    var CONTEXT = {
      site: { color: "#667085", weight: 2, dashArray: "6 4", fill: false },
      water: { color: "#5b8fc7", weight: 1, fillColor: "#9cc3e6", fillOpacity: 0.35 },
      facility: { color: "#b42318", weight: 5, opacity: 0.45, fillOpacity: 0.12 },
      sibling: { color: "#475467", weight: 3, opacity: 0.45, fillOpacity: 0.08 }
    };

    function addContext(geometry, style) {
      if (!geometry) { return; }
      var options = L.extend({
        pmIgnore: true,          // not editable, not removable
        snapIgnore: style !== CONTEXT.facility,  // new vertices snap to the facility only
        interactive: false,
        className: "draw-context",
        pointToLayer: function (feature, latlng) {
          return L.circleMarker(latlng, L.extend({
            radius: 5, pmIgnore: true, snapIgnore: options.snapIgnore, interactive: false
          }, style));
        }
      }, style);
      try {
        context.addLayer(kit.geoJSON(geometry, options, gcj));
      } catch (error) { /* a reference that cannot be drawn is left out */ }
    }

    function pointOf(row) {
      return row && row.lat !== null && row.lng !== null && row.lat !== undefined
        ? { type: "Point", coordinates: [row.lng, row.lat] } : null;
    }

    function attr(key) { return box.getAttribute("data-context-" + key) || ""; }

    function fieldValue(key) {
      var field = attr(key);
      var input = field ? form.elements.namedItem(field) : null;
      return input ? positiveId(input.value) : "";
    }

    function loadSite(siteId, jobs) {
      if (!siteId) { return; }
      jobs.push(getJSON("/api/v1/sites/" + siteId).then(function (site) {
        if (!site) { return; }
        addContext(site.water, CONTEXT.water);
        addContext(site.boundary, CONTEXT.site);
      }));
      if (attr("site-assets")) {
        jobs.push(getJSON("/api/v1/assets?per_page=200&site=" + siteId).then(function (page) {
          ((page && page.items) || []).forEach(function (row) {
            if (String(row.id) !== attr("exclude")) { addContext(row.geometry || pointOf(row), CONTEXT.sibling); }
          });
        }));
      }
    }

    function loadContext() {
      context.clearLayers();
      var jobs = [];
      loadSite(positiveId(attr("site")) || fieldValue("site-field"), jobs);
      var assetId = positiveId(attr("asset")) || fieldValue("asset-field");
      if (assetId) {
        jobs.push(getJSON("/api/v1/assets/" + assetId).then(function (asset) {
          if (!asset) { return null; }
          addContext(asset.geometry || pointOf(asset), CONTEXT.facility);
          var more = [];
          loadSite(positiveId(asset.site_id), more);
          return Promise.all(more);
        }));
      }
      var componentsOf = positiveId(attr("components"));
      if (componentsOf) {
        jobs.push(getJSON("/api/v1/assets/" + componentsOf + "/components").then(function (rows) {
          (Array.isArray(rows) ? rows : []).forEach(function (row) {
            if (String(row.id) !== attr("exclude")) { addContext(row.geometry, CONTEXT.sibling); }
          });
        }));
      }
      attr("fields").split(/\s+/).filter(Boolean).forEach(function (field) {
        var other = form.elements.namedItem(field);
        var read = other ? readText(other.value) : null;
        if (read && read.geometry) { addContext(read.geometry, CONTEXT.sibling); }
      });
      return Promise.all(jobs);
    }

    // Where to look: the drawing, else the references, else the typed point, else every site.
    function fit() {
      if (touched) { return; }
      var padding = { padding: [24, 24], maxZoom: 19 };
      if (drawn.getLayers().length) { map.fitBounds(drawn.getBounds(), padding); return; }
      if (context.getLayers().length) { map.fitBounds(context.getBounds(), padding); return; }
      var fields = attr("point-fields").split(/\s+/).filter(Boolean);
      if (fields.length === 2) {
        var lat = form.elements.namedItem(fields[0]);
        var lng = form.elements.namedItem(fields[1]);
        var point = [parseFloat(lng && lng.value), parseFloat(lat && lat.value)];
        if (isFinite(point[0]) && isFinite(point[1]) && Math.abs(point[1]) <= 90 && Math.abs(point[0]) <= 180) {
          map.setView(kit.toDisplay(point, gcj), 17);
          return;
        }
      }
      getJSON("/api/v1/sites").then(function (sites) {
        if (touched || drawn.getLayers().length || context.getLayers().length) { return; }
        var everywhere = L.featureGroup();
        (Array.isArray(sites) ? sites : []).forEach(function (site) {
          var shape = site.boundary || pointOf(site);
          if (shape) { everywhere.addLayer(kit.geoJSON(shape, {}, gcj)); }
        });
        if (everywhere.getLayers().length) { map.fitBounds(everywhere.getBounds(), padding); }
      });
    }

    function refresh() { loadContext().then(fit); }

    load();
    fit();
    refresh();
    ["site-field", "asset-field"].forEach(function (key) {
      var input = attr(key) ? form.elements.namedItem(attr(key)) : null;
      if (input) { input.addEventListener("change", refresh); }
    });
    attr("fields").split(/\s+/).filter(Boolean).forEach(function (field) {
      var other = form.elements.namedItem(field);
      if (other) {
        other.addEventListener("input", function () { loadContext(); });
        other.addEventListener("facilities:drawn", function () { loadContext(); });
      }
    });
    var stated = attr("length-field") ? form.elements.namedItem(attr("length-field")) : null;
    if (stated) { stated.addEventListener("input", function () { if (drawn.getLayers().length) { describe(partsDrawn()); } }); }
  }

  function start() {
    Array.prototype.forEach.call(document.querySelectorAll(".draw-editor[data-draw-field]"), function (box) {
      editor(box);
    });
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
}());
