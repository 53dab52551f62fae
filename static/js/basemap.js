/* Our own quiet basemap, drawn under every map when no tile source is configured
   (FACILITIES_MAP_TILES=none, the offline default): window.FacilitiesBasemap.draw(map, url, gcj),
   which static/js/mapkit.js calls from create().

   The data is /feeds/basemap.geojson (facilities/public/basemap.py): site boundaries
   (layer "site": a light fill, a thin outline, the site's name as a small label), water (blue),
   areas such as playgrounds and plazas (light) and paths, boardwalks and bridges (thin brown
   lines). It is fetched once per page however many maps the page has, drawn in a pane of its
   own below everything the page adds (closures, detours, pins), and takes no pointer events
   and no keyboard focus: it is scenery. Coordinates are WGS-84 and shifted for display through
   FacilitiesMap.geoJSON when the map is drawn in GCJ-02. Labels are DOM text (textContent),
   never HTML. When it is drawn, the map's container gets data-basemap-drawn (the number of
   shapes), which the browser tests wait for. */
(function () {
  "use strict";

  var PANE = "facilitiesBasemap";
  var STYLES = {
    site: { color: "#98a2b3", weight: 1, fillColor: "#f2f4ef", fillOpacity: 1 },
    water: { color: "#7cb3d9", weight: 1, fillColor: "#b9dcf2", fillOpacity: 1 },
    area: { color: "#b7c4a5", weight: 1, fillColor: "#e3ead8", fillOpacity: 1 },
    path: { color: "#a58d6f", weight: 3, opacity: 0.9, fill: false, lineCap: "round" }
  };
  var ORDER = ["site", "water", "area", "path"];  // bottom to top
  var loading = {};  // url -> promise of the FeatureCollection (one request per page)

  function load(url) {
    if (!loading[url]) {
      loading[url] = fetch(url, { headers: { Accept: "application/geo+json" } })
        .then(function (response) {
          if (!response.ok) { throw new Error("basemap " + response.status); }
          return response.json();
        });
    }
    return loading[url];
  }

  function english() {
    return (document.documentElement.getAttribute("lang") || "").toLowerCase().indexOf("en") === 0;
  }

  function label(text) {
    var span = document.createElement("span");
    span.textContent = text;
    return span;
  }

  function pane(map) {
    if (!map.getPane(PANE)) {
      var created = map.createPane(PANE);
      created.style.zIndex = 250;  // above tiles (200), below closures (overlay pane, 400)
      created.style.pointerEvents = "none";
    }
    return PANE;
  }

  function draw(map, url, gcj) {
    var kit = window.FacilitiesMap;
    if (!kit || !url || !window.fetch) { return; }
    var paneName = pane(map);
    load(url).then(function (collection) {
      var byLayer = {};
      (collection.features || []).forEach(function (feature) {
        var layer = feature && feature.properties && feature.properties.layer;
        if (STYLES[layer] && feature.geometry) { (byLayer[layer] = byLayer[layer] || []).push(feature); }
      });
      var drawn = 0;
      var en = english();
      ORDER.forEach(function (layer) {
        if (!byLayer[layer]) { return; }
        kit.geoJSON({ type: "FeatureCollection", features: byLayer[layer] }, {
          pane: paneName,
          interactive: false,
          style: function () { return L.extend({ className: "basemap-" + layer }, STYLES[layer]); },
          onEachFeature: function (feature, shape) {
            drawn += 1;
            var props = feature.properties;
            var name = (en && props.name_en) || props.name_zh;
            if (layer === "site" && name) {
              shape.bindTooltip(label(name), {
                permanent: true, direction: "center", className: "basemap-label",
                interactive: false, opacity: 1
              });
            }
          }
        }, gcj).addTo(map);
      });
      map.getContainer().setAttribute("data-basemap-drawn", String(drawn));
    }).catch(function () {
      // no basemap: the map still shows what the page draws, on a plain background
      map.getContainer().setAttribute("data-basemap-drawn", "0");
    });
  }

  window.FacilitiesBasemap = { draw: draw };
}());
