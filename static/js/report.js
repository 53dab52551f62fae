/* The citizen report form: "facilities near me" from the browser's location, and a gentle
   check of the number of photos. Progressive enhancement only: without this script a citizen
   chooses the facility by name or by park, and the server checks everything again.
   Loaded as a same-origin file (the Content-Security-Policy allows no inline script). The list
   is built with textContent, never innerHTML: names come from the server as data. */
(function () {
  "use strict";

  function nearMe() {
    var section = document.getElementById("near-me");
    var button = document.getElementById("find-nearby");
    var list = document.getElementById("nearby-list");
    var status = document.getElementById("nearby-status");
    if (!section || !button || !list || !status || !("geolocation" in navigator) ||
        !window.fetch) {
      return;
    }
    section.hidden = false;

    function say(key) { status.textContent = status.getAttribute("data-" + key) || ""; }

    function show(facilities) {
      list.textContent = "";
      if (!facilities.length) { say("none"); return; }
      status.textContent = "";
      facilities.forEach(function (facility) {
        var item = document.createElement("li");
        var link = document.createElement("a");
        link.href = facility.url;
        link.textContent = facility.name;
        item.appendChild(link);
        var where = document.createElement("span");
        where.className = "muted";
        var metres = (status.getAttribute("data-metres") || "{m} m")
          .replace("{m}", String(facility.distance_m));
        where.textContent = facility.site + " · " + metres;
        item.appendChild(where);
        list.appendChild(item);
      });
    }

    button.addEventListener("click", function () {
      say("locating");
      button.disabled = true;
      navigator.geolocation.getCurrentPosition(function (position) {
        var url = "/report/nearby.json?lat=" + encodeURIComponent(position.coords.latitude) +
          "&lng=" + encodeURIComponent(position.coords.longitude);
        fetch(url, { headers: { Accept: "application/json" }, credentials: "same-origin" })
          .then(function (response) {
            if (!response.ok) { throw new Error(String(response.status)); }
            return response.json();
          })
          .then(function (body) { show(body.facilities || []); })
          .catch(function () { say("failed"); })
          .then(function () { button.disabled = false; });
      }, function () {
        say("failed");
        button.disabled = false;
      }, { enableHighAccuracy: true, timeout: 15000, maximumAge: 60000 });
    });
  }

  function photoLimit() {
    var input = document.getElementById("photos");
    var warning = document.getElementById("photos-count");
    if (!input || !warning) { return; }
    var max = parseInt(input.getAttribute("data-max") || "3", 10);
    input.addEventListener("change", function () {
      var tooMany = input.files && input.files.length > max;
      warning.hidden = !tooMany;
      input.setCustomValidity(tooMany ? warning.textContent : "");
    });
  }

  // After a rejected submission, put the keyboard (and the screen reader) on the first field to
  // fix: its label and its error (aria-describedby) are read out, the summary is role="alert".
  function focusFirstError() {
    var field = document.querySelector('.report-form [aria-invalid="true"]');
    if (field) { field.focus(); }
  }

  function ready() { nearMe(); photoLimit(); focusFirstError(); }
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", ready);
  } else {
    ready();
  }
})();
