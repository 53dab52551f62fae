/* The one base every map in the product is built on (public closure map, notice and facility
   maps, the report pin, the staff maps, the drawing tools). Loaded after Leaflet, before the
   page's own map script; it exposes window.FacilitiesMap.

   Coordinates we store and serve are WGS-84 (GeoJSON order: [lng, lat]). A tile source may draw
   in GCJ-02 (AMap, Tencent): then every coordinate is shifted for display with wgs84ToGcj02, and
   a point the person picks on the map is shifted back with gcj02ToWgs84 before it is sent. The
   settings come from the map element's data- attributes (rendered from the server's settings,
   never from the request): data-tiles ("none" or a URL template), data-crs ("wgs84"|"gcj02"),
   data-basemap (the URL of our own basemap data, drawn when data-tiles is "none"), and for a
   source in two layers (Tianditu) data-tiles-labels and data-tiles-subdomains. */
(function () {
  "use strict";

  // WGS-84 -> GCJ-02: the standard published formula (the "eviltransform" / coordtransform one,
  // also in facilities/lib/coordsys.py): the Krasovsky 1940 ellipsoid (a, ee) and two
  // polynomial-and-sine offsets of (lng - 105, lat - 35). Points outside China are not shifted.
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

  // GCJ-02 -> WGS-84 by fixed-point iteration of the forward shift (as lib/coordsys.py does):
  // a few rounds bring it well under a centimetre.
  function gcj02ToWgs84(lng, lat) {
    if (outOfChina(lng, lat)) { return [lng, lat]; }
    var guess = [lng, lat];
    for (var i = 0; i < 6; i++) {
      var there = wgs84ToGcj02(guess[0], guess[1]);
      guess = [guess[0] - (there[0] - lng), guess[1] - (there[1] - lat)];
    }
    return guess;
  }

  function settings(element) {
    return {
      tiles: element.getAttribute("data-tiles") || "none",
      gcj: element.getAttribute("data-crs") === "gcj02",
      basemap: element.getAttribute("data-basemap") || "",
      labels: element.getAttribute("data-tiles-labels") || "",  // a layer over the tiles
      subdomains: element.getAttribute("data-tiles-subdomains") || "abc"  // {s}
    };
  }

  // [lng, lat] as stored -> L.LatLng as displayed.
  function toDisplay(coordinates, gcj) {
    var lng = Number(coordinates[0]);
    var lat = Number(coordinates[1]);
    var shown = gcj ? wgs84ToGcj02(lng, lat) : [lng, lat];
    return L.latLng(shown[1], shown[0]);
  }

  // L.LatLng as displayed -> [lng, lat] as stored (WGS-84, rounded to 7 decimals, about 1 cm).
  function fromDisplay(latlng, gcj) {
    var back = gcj ? gcj02ToWgs84(latlng.lng, latlng.lat) : [latlng.lng, latlng.lat];
    return [Math.round(back[0] * 1e7) / 1e7, Math.round(back[1] * 1e7) / 1e7];
  }

  // A GeoJSON layer whose coordinates are shifted for display like every marker.
  function geoJSON(data, options, gcj) {
    var opts = L.extend({}, options || {});
    opts.coordsToLatLng = function (coordinates) { return toDisplay(coordinates, gcj); };
    return L.geoJSON(data, opts);
  }

  function stillMotion() {
    return !!(window.matchMedia && window.matchMedia("(prefers-reduced-motion: reduce)").matches);
  }

  // The map on ``canvas`` with the configured tile layer (none: a plain background, or our own
  // basemap when the element names one). ``options`` are passed on to L.map.
  function create(canvas, element, options) {
    var conf = settings(element);
    var still = stillMotion();
    var map = L.map(canvas, L.extend({
      keyboard: false,
      zoomAnimation: !still,
      fadeAnimation: !still,
      markerZoomAnimation: !still,
      scrollWheelZoom: false,
      attributionControl: false,  // the credit is text under the map (the template's)
      minZoom: 3,
      maxZoom: 19
    }, options || {}));
    if (conf.tiles !== "none") {
      var tileOptions = { maxZoom: 19, maxNativeZoom: 18, subdomains: conf.subdomains };
      L.tileLayer(conf.tiles, tileOptions).addTo(map);
      if (conf.labels) { L.tileLayer(conf.labels, L.extend({ zIndex: 2 }, tileOptions)).addTo(map); }
    } else if (conf.basemap && window.FacilitiesBasemap) {
      window.FacilitiesBasemap.draw(map, conf.basemap, conf.gcj);
    }
    map.facilitiesGcj = conf.gcj;
    return map;
  }

  // The drawing is aria-hidden where a list carries the same facts: nothing in it may take the
  // keyboard focus.
  function unfocusable(element) {
    var found = element.querySelectorAll("a, button, [tabindex]");
    for (var i = 0; i < found.length; i++) { found[i].setAttribute("tabindex", "-1"); }
  }

  function paragraph(text, className) {
    var p = document.createElement("p");
    if (className) { p.className = className; }
    p.textContent = text;
    return p;
  }

  window.FacilitiesMap = {
    wgs84ToGcj02: wgs84ToGcj02,
    gcj02ToWgs84: gcj02ToWgs84,
    settings: settings,
    toDisplay: toDisplay,
    fromDisplay: fromDisplay,
    geoJSON: geoJSON,
    create: create,
    stillMotion: stillMotion,
    unfocusable: unfocusable,
    paragraph: paragraph
  };
}());
