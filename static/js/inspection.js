/* The inspection form on a flaky phone connection: every change is kept in localStorage, so a
   submit that never reached the server (no signal on the bridge) loses nothing. Reopen the page
   and the answers not yet saved come back. A draft belongs to the version of the inspection it
   was typed on: once the server has saved (the version went up) an older draft is dropped.
   Progressive enhancement only: without this script the form works the same, minus the drafts.
   Loaded as a same-origin file (the Content-Security-Policy allows no inline script). */
(function () {
  "use strict";

  var PREFIX = "facilities:draft:";

  function storage() {
    try {
      var probe = PREFIX + "probe";
      window.localStorage.setItem(probe, "1");
      window.localStorage.removeItem(probe);
      return window.localStorage;
    } catch (e) {
      return null; // private mode or storage disabled: nothing to do
    }
  }

  function fields(form) {
    return Array.prototype.filter.call(form.elements, function (el) {
      return el.name && el.name !== "_csrf_token" && el.name !== "version" &&
        el.type !== "file" && el.type !== "submit" && el.type !== "button";
    });
  }

  function collect(form) {
    var values = {};
    fields(form).forEach(function (el) {
      if (el.type === "radio") {
        if (el.checked) { values[el.name] = el.value; }
        else if (!(el.name in values)) { values[el.name] = ""; }
      } else if (el.type === "checkbox") {
        values[el.name] = el.checked ? el.value : "";
      } else {
        values[el.name] = el.value;
      }
    });
    return values;
  }

  function apply(form, values) {
    var changed = 0;
    fields(form).forEach(function (el) {
      if (!(el.name in values)) { return; }
      var value = values[el.name];
      if (el.type === "radio" || el.type === "checkbox") {
        var on = el.value === value;
        if (el.checked !== on) { el.checked = on; changed += 1; }
      } else if (el.value !== value) {
        el.value = value;
        changed += 1;
      }
    });
    return changed;
  }

  function init(form) {
    var store = storage();
    if (!store) { return; }
    var key = PREFIX + form.getAttribute("data-draft-key");
    var version = form.getAttribute("data-version");
    var notice = form.querySelector(".draft-notice");
    var saved = null;
    try { saved = JSON.parse(store.getItem(key) || "null"); } catch (e) { saved = null; }

    if (saved && saved.version === version && saved.values) {
      if (apply(form, saved.values) > 0 && notice) {
        notice.textContent = notice.getAttribute("data-restored-text") + " ";
        var discard = document.createElement("button");
        discard.type = "button";
        discard.className = "link";
        discard.textContent = notice.getAttribute("data-discard-text");
        discard.addEventListener("click", function () {
          store.removeItem(key);
          window.location.reload();
        });
        notice.appendChild(discard);
        notice.hidden = false;
      }
    } else if (saved) {
      store.removeItem(key); // typed on an older version that the server has since saved
    }

    function keep() {
      try {
        store.setItem(key, JSON.stringify({
          version: version, savedAt: new Date().toISOString(), values: collect(form)
        }));
      } catch (e) { /* storage full: the form still submits */ }
    }
    form.addEventListener("input", keep);
    form.addEventListener("change", keep);
    form.addEventListener("submit", keep);
  }

  function start() {
    var forms = document.querySelectorAll("form[data-draft-key]");
    Array.prototype.forEach.call(forms, init);
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
}());
