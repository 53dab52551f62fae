/* The staff work calendar (/calendar): drag a ticket's bar to another day to move its planned
   dates, and copy the feed link.

   - A drop posts the new first day and the version the page showed to
     /calendar/tickets/{id}/reschedule (session cookie, CSRF header and an Idempotency-Key, like
     the other JavaScript writes). The server moves start and end by the same number of days
     through the ticket edit service, with its permission and stale-version checks.
   - Accepted: the page reloads, so every bar is laid out again by the server.
   - Refused: the server's reason is shown and the bar stays where it was (it never moved: the
     drag only previews the day under the pointer).
   Everything shown is set with textContent. */
(function () {
  "use strict";

  var root = document.getElementById("work-calendar");
  var status = document.getElementById("wcal-status");

  function say(text, bad) {
    if (!status) { return; }
    status.textContent = text;
    status.classList.toggle("bad", Boolean(bad));
  }

  function problem(response) {
    return response.json().then(function (data) {
      var parts = [data.detail || String(response.status)];
      (data.extra || []).forEach(function (e) {
        var message = e && (e.message || (typeof e === "string" ? e : ""));
        if (message && parts.indexOf(message) === -1) { parts.push(message); }
      });
      if (data.extra && !Array.isArray(data.extra) && typeof data.extra === "object") {
        Object.keys(data.extra).forEach(function (k) {
          var m = data.extra[k];
          if (typeof m === "string" && parts.indexOf(m) === -1) { parts.push(m); }
        });
      }
      return parts.join(" ");
    }, function () { return String(response.status); });
  }

  function dayAt(x, y) {
    var hits = document.elementsFromPoint(x, y);
    for (var i = 0; i < hits.length; i += 1) {
      if (hits[i].classList && hits[i].classList.contains("wcal-day")) { return hits[i]; }
    }
    return null;
  }

  function daysBetween(a, b) {
    return Math.round((Date.parse(b + "T00:00:00Z") - Date.parse(a + "T00:00:00Z")) / 86400000);
  }

  function addDays(iso, n) {
    var d = new Date(Date.parse(iso + "T00:00:00Z") + n * 86400000);
    return d.toISOString().slice(0, 10);
  }

  if (root && root.getAttribute("data-can-move") === "true") {
    var dragged = null;   // the bar being dragged
    var grabbedOn = null; // the day under the pointer when the drag began
    var marked = null;

    function mark(day) {
      if (marked === day) { return; }
      if (marked) { marked.classList.remove("drop-target"); }
      marked = day;
      if (marked) { marked.classList.add("drop-target"); }
    }

    root.addEventListener("dragstart", function (event) {
      var bar = event.target.closest && event.target.closest(".wcal-bar[data-ticket]");
      if (!bar) { return; }
      dragged = bar;
      var day = dayAt(event.clientX, event.clientY);
      grabbedOn = day ? day.getAttribute("data-date") : null;
      bar.classList.add("dragging");
      bar.classList.remove("refused");
      event.dataTransfer.effectAllowed = "move";
      event.dataTransfer.setData("text/plain", bar.getAttribute("data-ticket"));
    });

    root.addEventListener("dragover", function (event) {
      if (!dragged) { return; }
      var day = dayAt(event.clientX, event.clientY);
      if (day) {
        event.preventDefault();
        event.dataTransfer.dropEffect = "move";
      }
      mark(day);
    });

    root.addEventListener("dragend", function () {
      if (dragged) { dragged.classList.remove("dragging"); }
      dragged = null;
      mark(null);
    });

    root.addEventListener("drop", function (event) {
      var bar = dragged;
      var day = dayAt(event.clientX, event.clientY);
      mark(null);
      if (!bar || !day) { return; }
      event.preventDefault();
      bar.classList.remove("dragging");
      dragged = null;
      var start = bar.getAttribute("data-start");
      // the day grabbed within the bar moves to the day dropped on
      var offset = grabbedOn ? daysBetween(grabbedOn, day.getAttribute("data-date")) : null;
      var newStart = offset === null ? day.getAttribute("data-date") : addDays(start, offset);
      if (newStart === start) { return; }
      var body = new URLSearchParams();
      body.append("planned_start_on", newStart);
      body.append("version", bar.getAttribute("data-version"));
      say(root.getAttribute("data-moving"));
      var url = "/calendar/tickets/" + bar.getAttribute("data-ticket") + "/reschedule";
      window.facilitiesWrites.postForm(url, body).then(function (response) {
        if (response.ok) {
          say(root.getAttribute("data-moved"));
          window.location.reload();
          return null;
        }
        return problem(response).then(function (text) {
          bar.classList.add("refused");
          say(root.getAttribute("data-refused") + " " + text, true);
        });
      }, function () {
        bar.classList.add("refused");
        say(root.getAttribute("data-refused"), true);
      });
    });
  }

  var copy = document.querySelector(".wcal-copy");
  var field = document.getElementById("feed-url");
  if (copy && field) {
    copy.addEventListener("click", function (event) {
      event.preventDefault();
      field.select();
      var done = function () { say(copy.getAttribute("data-copied")); };
      if (navigator.clipboard && navigator.clipboard.writeText) {
        navigator.clipboard.writeText(field.value).then(done, function () {
          document.execCommand("copy");
          done();
        });
      } else {
        document.execCommand("copy");
        done();
      }
    });
  }
}());
