/* The report pin (templates/reports/_pin_map.html). Progressive enhancement only: without this
   script (or without Leaflet) the section stays hidden and the citizen chooses the facility by
   name, by park or from a pasted location, as before.

   A tap or click drops the pin, a drag moves it, "Use my location" puts it where the browser
   says the citizen is. Each placement asks GET /report/near (WGS-84 lat/lng) what is there: the
   pin then moves onto the facility it snaps to (with "keep my pin" to undo), a closure on that
   facility is announced at once above the map, the facilities around fill the form's facility
   field (the snapped one chosen), and open reports near the pin are offered to follow instead of
   reporting again. The pin's WGS-84 position goes into the form's lat/lng fields; with GCJ-02
   tiles the displayed position is shifted back first (FacilitiesMap.fromDisplay).

   Everything shown is built with DOM APIs and textContent, never innerHTML; every word comes
   from the section's data- attributes. Same-origin file: the CSP allows no inline script. */
(function () {
  "use strict";

  var kit = window.FacilitiesMap;

  function words(section, key, values) {
    var text = section.getAttribute("data-" + key) || "";
    Object.keys(values || {}).forEach(function (name) {
      text = text.split("{" + name + "}").join(String(values[name]));
    });
    return text;
  }

  function start() {
    var section = document.getElementById("pin-map");
    var canvas = section && section.querySelector(".pin-canvas");
    if (!section || !canvas || !window.fetch || !window.L || !kit) { return; }
    var byId = function (id) { return document.getElementById(id); };
    var latInput = byId(section.getAttribute("data-lat-input"));
    var lngInput = byId(section.getAttribute("data-lng-input"));
    var status = byId("pin-status");
    var closureBox = byId("pin-closure");
    var snapLine = byId("pin-snap");
    var snapText = byId("pin-snap-text");
    var undo = byId("pin-undo");
    var other = byId("pin-other");
    var form = byId("pin-form");
    var select = byId("pin-asset");
    var reportsBox = byId("pin-reports");
    var reportList = byId("pin-report-list");
    var locate = byId("pin-locate");
    var pageAsset = section.getAttribute("data-asset") || "";
    if (!latInput || !lngInput) { return; }

    section.hidden = false;  // shown before the map is made: Leaflet needs the canvas's size
    // Revealing the map moves what follows it down: a control that already has the focus (the
    // first field to fix, after a refused submit) must stay in view.
    var focused = document.activeElement;
    if (focused && focused !== document.body && focused.scrollIntoView) {
      focused.scrollIntoView({ block: "nearest" });
    }
    var gcj = kit.settings(section).gcj;
    var map = kit.create(canvas, section, { dragging: true, tap: true });
    var marker = null;
    var facilityLayer = null;
    var asked = 0;        // the latest question: an older answer arriving late is dropped
    var placed = null;    // [lng, lat] where the citizen put the pin
    var snapped = null;   // the last answer's snapped facility, or null
    var keptOwn = false;  // the citizen chose to keep their own pin

    var initial = [parseFloat(section.getAttribute("data-lng")),
                   parseFloat(section.getAttribute("data-lat"))];
    var startAt = (section.getAttribute("data-start") || "").split(",");
    if (isFinite(initial[0]) && isFinite(initial[1])) {
      map.setView(kit.toDisplay(initial, gcj), 18);
    } else if (startAt.length === 2 && isFinite(parseFloat(startAt[0]))) {
      map.setView(kit.toDisplay([parseFloat(startAt[1]), parseFloat(startAt[0])], gcj), 16);
    } else {
      map.setView([26.9, 112.6], 13);
    }

    function say(text) { status.textContent = text; }

    function write(lngLat) {
      latInput.value = lngLat[1].toFixed(7);
      lngInput.value = lngLat[0].toFixed(7);
      section.setAttribute("data-pin", latInput.value + "," + lngInput.value);
    }

    function putMarker(lngLat) {
      var shown = kit.toDisplay(lngLat, gcj);
      if (!marker) {
        marker = L.marker(shown, { draggable: true, keyboard: false, autoPan: true,
          icon: L.divIcon({ className: "pin-marker", html: "", iconSize: [22, 22] }) });
        marker.addTo(map);
        marker.on("dragend", function () { place(kit.fromDisplay(marker.getLatLng(), gcj)); });
      } else {
        marker.setLatLng(shown);
      }
      write(lngLat);
    }

    function showClosure(closure) {
      closureBox.textContent = "";
      closureBox.hidden = !closure;
      section.removeAttribute("data-closure");
      if (!closure) { return; }
      section.setAttribute("data-closure", String(closure.id));
      closureBox.appendChild(kit.paragraph(closure.headline, "pin-closure-headline"));
      closureBox.appendChild(kit.paragraph(words(section, closure.planned ? "planned" : "closed")));
      if (closure.reason) { closureBox.appendChild(kit.paragraph(closure.reason, "muted")); }
      var link = document.createElement("a");
      link.className = "button primary";
      link.href = closure.url;
      link.textContent = words(section, "read-notice");
      closureBox.appendChild(link);
    }

    function showFacility(found) {
      if (facilityLayer) { map.removeLayer(facilityLayer); facilityLayer = null; }
      if (!found || !found.geometry) { return; }
      facilityLayer = kit.geoJSON(found.geometry, {
        interactive: false,
        style: function () { return { className: "pin-facility", weight: 6, opacity: 0.8 }; },
        pointToLayer: function (feature, latlng) {
          return L.circleMarker(latlng, { className: "pin-facility", radius: 10, interactive: false });
        }
      }, gcj).addTo(map);
    }

    function showSnap(answer) {
      var found = answer.snapped;
      snapLine.hidden = !found;
      if (!found) { return; }
      snapText.textContent = answer.component
        ? words(section, "snapped-part", { name: found.name, part: answer.component.name })
        : words(section, "snapped", { name: found.name });
      undo.textContent = keptOwn ? words(section, "resnap", { name: found.name })
                                 : words(section, "keep");
      section.setAttribute("data-snapped", String(found.id));
    }

    function showChoices(answer) {
      if (!form || !select) { return; }
      select.textContent = "";
      (answer.choices || []).forEach(function (facility) {
        var option = document.createElement("option");
        option.value = String(facility.id);
        option.textContent = facility.name + " · " + facility.site + " · " +
          words(section, "metres", { m: facility.distance_m });
        if (answer.snapped && answer.snapped.id === facility.id) { option.selected = true; }
        select.appendChild(option);
      });
      form.hidden = !select.options.length;
    }

    function showOther(answer) {
      other.textContent = "";
      var found = answer.snapped;
      other.hidden = !(pageAsset && found && String(found.id) !== pageAsset);
      if (other.hidden) { return; }
      other.appendChild(document.createTextNode(words(section, "other", { name: found.name }) + " "));
      var link = document.createElement("a");
      link.href = found.report_url;
      link.textContent = words(section, "report-other", { name: found.name });
      other.appendChild(link);
    }

    function showReports(reports) {
      reportList.textContent = "";
      reportsBox.hidden = !reports.length;
      reports.forEach(function (report) {
        var item = document.createElement("li");
        item.setAttribute("data-report", String(report.id));
        var title = document.createElement("strong");
        title.textContent = report.category;
        item.appendChild(title);
        item.appendChild(document.createTextNode(" · " + report.number + " · " + report.stage +
          " · " + report.age + " · " + words(section, "metres", { m: report.distance_m })));
        item.appendChild(document.createElement("br"));
        var follow = document.createElement("a");
        follow.href = report.follow_url;
        follow.className = "pin-follow";
        follow.textContent = words(section, "mine-too");
        item.appendChild(follow);
        reportList.appendChild(item);
      });
    }

    function answered(answer) {
      snapped = answer.snapped;
      if (snapped && !keptOwn) {
        putMarker([snapped.lng, snapped.lat]);
      }
      showFacility(snapped);
      showSnap(answer);
      showClosure(answer.closure);
      showChoices(answer);
      showOther(answer);
      showReports(answer.reports || []);
      say(snapped ? "" : words(section, "nothing", { m: answer.snap_radius_m }));
      section.setAttribute("data-answered", String(asked));
    }

    function place(lngLat) {
      placed = lngLat;
      keptOwn = false;
      putMarker(lngLat);
      var mine = ++asked;
      say(words(section, "asking"));
      var url = section.getAttribute("data-near") + "?lat=" + encodeURIComponent(lngLat[1]) +
        "&lng=" + encodeURIComponent(lngLat[0]);
      fetch(url, { headers: { Accept: "application/json" }, credentials: "same-origin" })
        .then(function (response) {
          if (!response.ok) { throw new Error(String(response.status)); }
          return response.json();
        })
        .then(function (answer) { if (mine === asked) { answered(answer); } })
        .catch(function () { if (mine === asked) { say(words(section, "failed")); } });
    }

    undo.addEventListener("click", function () {
      if (!snapped || !placed) { return; }
      keptOwn = !keptOwn;
      putMarker(keptOwn ? placed : [snapped.lng, snapped.lat]);
      undo.textContent = keptOwn ? words(section, "resnap", { name: snapped.name })
                                 : words(section, "keep");
      say(keptOwn ? words(section, "kept") : "");
    });

    map.on("click", function (event) { place(kit.fromDisplay(event.latlng, gcj)); });

    if (locate && "geolocation" in navigator) {
      locate.addEventListener("click", function () {
        say(words(section, "locating"));
        locate.disabled = true;
        navigator.geolocation.getCurrentPosition(function (position) {
          locate.disabled = false;
          var here = [position.coords.longitude, position.coords.latitude];  // WGS-84
          map.setView(kit.toDisplay(here, gcj), 18);
          place(here);
        }, function () {
          locate.disabled = false;
          say(words(section, "refused"));
        }, { enableHighAccuracy: true, timeout: 15000, maximumAge: 60000 });
      });
    } else if (locate) {
      locate.hidden = true;
    }

    kit.unfocusable(canvas);
    if (isFinite(initial[0]) && isFinite(initial[1])) {
      putMarker(initial);
      placed = initial;
      keptOwn = true;  // a pin the citizen already placed stays where it is
      section.setAttribute("data-ready", "1");
    } else {
      section.setAttribute("data-ready", "1");
    }
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
}());
