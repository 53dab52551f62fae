/* The offline field app (/field): inspections and tickets on a bridge deck with a weak signal.

   - While online it reads /field/data.json (the signed-in person's due inspections and assigned
     tickets) and keeps it in IndexedDB; the service worker (/field/sw.js) keeps the page itself.
   - Offline the person records an inspection (checklist, component scores, a finding, a photo,
     submit for review) or completes a ticket. Each step is queued in IndexedDB with its own
     Idempotency-Key, chosen once when it is queued.
   - Back online the queue is replayed in order through the existing API (session cookie plus
     the CSRF header, like the pages' forms). A step sent again after a lost answer carries the
     same key, so the server answers with the first result instead of writing twice.
   - A step the server refuses (the inspection was finalised elsewhere, a stale version) stays
     in the queue, marked, with the server's message, until the person discards it.
   - Logging out deletes the database and the service worker's caches before the logout form
     is sent; the server's answer adds Clear-Site-Data.
   Everything shown is built with textContent: stored text is never parsed as HTML. */
(function () {
  "use strict";

  var DB_NAME = "facilities-field";
  var DB_VERSION = 1;
  var root = document.getElementById("field-app");
  if (!root || !window.indexedDB) { return; }
  var T = JSON.parse(root.getAttribute("data-texts"));
  var userId = Number(root.getAttribute("data-user-id"));
  var dbPromise = null;
  var syncing = false;
  var bundle = null;

  // --- IndexedDB -------------------------------------------------------------------------

  function done(request) {
    return new Promise(function (resolve, reject) {
      request.onsuccess = function () { resolve(request.result); };
      request.onerror = function () { reject(request.error); };
    });
  }

  function openDb() {
    if (!dbPromise) {
      dbPromise = new Promise(function (resolve, reject) {
        var request = indexedDB.open(DB_NAME, DB_VERSION);
        request.onupgradeneeded = function () {
          var db = request.result;
          db.createObjectStore("bundle", { keyPath: "key" });
          db.createObjectStore("queue", { keyPath: "id", autoIncrement: true });
        };
        request.onsuccess = function () {
          var db = request.result;
          db.onversionchange = function () { db.close(); dbPromise = null; };
          resolve(db);
        };
        request.onerror = function () { reject(request.error); };
      });
    }
    return dbPromise;
  }

  function store(name, mode) {
    return openDb().then(function (db) {
      return db.transaction(name, mode || "readonly").objectStore(name);
    });
  }

  function readBundle() {
    return store("bundle").then(function (s) { return done(s.get("current")); });
  }

  function writeBundle(value) {
    value.key = "current";
    return store("bundle", "readwrite").then(function (s) { return done(s.put(value)); })
      .then(function () { bundle = value; });
  }

  function queued() {
    return store("queue").then(function (s) { return done(s.getAll()); });
  }

  function putItem(item) {
    return store("queue", "readwrite").then(function (s) { return done(s.put(item)); });
  }

  function dropItem(id) {
    return store("queue", "readwrite").then(function (s) { return done(s["delete"](id)); });
  }

  var newKey = window.facilitiesWrites.newKey;

  function enqueue(item) {
    item.key = "field-" + newKey();
    item.state = "pending";
    item.message = "";
    item.queuedAt = new Date().toISOString();
    return store("queue", "readwrite").then(function (s) { return done(s.add(item)); });
  }

  /* Delete everything this app keeps on the device: the database and the kept pages. */
  function wipe() {
    var closing = dbPromise ? dbPromise.then(function (db) { db.close(); }) : Promise.resolve();
    dbPromise = null;
    return closing.then(function () {
      return new Promise(function (resolve) {
        var request = indexedDB.deleteDatabase(DB_NAME);
        request.onsuccess = request.onerror = request.onblocked = function () { resolve(); };
      });
    }).then(function () {
      if (!window.caches) { return null; }
      return caches.keys().then(function (names) {
        return Promise.all(names.filter(function (n) {
          return n.indexOf("facilities-field-") === 0;
        }).map(function (n) { return caches["delete"](n); }));
      });
    }).then(function () {
      var sw = navigator.serviceWorker && navigator.serviceWorker.controller;
      if (sw) { sw.postMessage({ type: "clear" }); }
    });
  }

  // --- talking to the server -------------------------------------------------------------

  var csrfToken = window.facilitiesWrites.csrfToken;


  function request(item) {
    var headers = {
      "Accept": "application/json",
      "X-CSRFToken": csrfToken(),
      "Idempotency-Key": item.key
    };
    var body;
    var method = "POST";
    var url;
    if (item.kind === "photo") {
      body = new FormData();
      body.append("file", item.blob, item.filename || "photo.jpg");
      body.append("caption", item.caption || "");
      url = "/field/inspections/" + item.target + "/photos";
    } else {
      headers["Content-Type"] = "application/json";
      body = JSON.stringify(item.body);
      if (item.kind === "record") {
        method = "PUT";
        url = "/api/v1/inspections/" + item.target + "/record";
      } else if (item.kind === "finding") {
        url = "/api/v1/inspections/" + item.target + "/findings";
      } else if (item.kind === "submit") {
        url = "/api/v1/inspections/" + item.target + "/submit";
      } else {
        url = "/api/v1/tickets/" + item.target + "/transitions";
      }
    }
    return fetch(url, {
      method: method, headers: headers, body: body,
      credentials: "same-origin", redirect: "manual"
    });
  }

  function problem(response) {
    return response.json().then(function (data) {
      var parts = [data.detail || String(response.status)];
      (data.extra || []).forEach(function (e) {
        if (e && e.message && parts.indexOf(e.message) === -1) { parts.push(e.message); }
      });
      return parts.join(" ");
    }, function () { return String(response.status); });
  }

  /* Send one queued step: "sent", "refused" (kept with the server's words) or "stop" (no
     signal, login ended, server trouble: try again later). */
  function send(item) {
    return request(item).then(function (response) {
      if (response.ok) {
        return response.json().then(function (data) {
          return { outcome: "sent", data: data };
        }, function () { return { outcome: "sent", data: {} }; });
      }
      if (response.status === 401 || response.type === "opaqueredirect") {
        return { outcome: "stop", message: T.login_again };
      }
      if (response.status === 429 || response.status >= 500) {
        return problem(response).then(function (m) { return { outcome: "stop", message: m }; });
      }
      return problem(response).then(function (m) { return { outcome: "refused", message: m }; });
    }, function () {
      return { outcome: "stop", message: T.offline };
    });
  }

  /* A record that went through bumps the inspection's version: a record or submit queued
     behind it (never sent yet: the queue goes in order) carries the new one. */
  function carryVersion(sentItem, data, rest) {
    if (sentItem.kind !== "record" || !data.version) { return Promise.resolve(); }
    return Promise.all(rest.filter(function (other) {
      return (other.kind === "submit" || other.kind === "record") &&
        other.target === sentItem.target && other.state === "pending";
    }).map(function (other) {
      other.body.version = data.version;
      return putItem(other);
    }));
  }

  function sync() {
    if (syncing || !navigator.onLine) { return Promise.resolve(); }
    syncing = true;
    var sentAny = false;
    var stopped = "";
    status(T.sending);
    return queued().then(function (items) {
      var pending = items.filter(function (i) { return i.state === "pending"; });
      function next(index) {
        if (index >= pending.length) { return Promise.resolve(); }
        var item = pending[index];
        return send(item).then(function (result) {
          if (result.outcome === "stop") { stopped = result.message; return null; }
          if (result.outcome === "refused") {
            item.state = "conflict";
            item.message = result.message;
            return putItem(item).then(function () { return next(index + 1); });
          }
          sentAny = true;
          return carryVersion(item, result.data, pending.slice(index + 1)).then(function () {
            return dropItem(item.id);
          }).then(function () { return next(index + 1); });
        });
      }
      return next(0);
    }).then(function () {
      syncing = false;
      return sentAny ? refresh() : show();
    }).then(function () {
      if (stopped) { status(stopped); }
      root.setAttribute("data-synced", String(Date.now()));
    }, function (error) {
      syncing = false;
      status(String(error));
    });
  }

  /* Read the person's work from the server into IndexedDB (online), else keep what is kept. */
  function refresh() {
    if (!navigator.onLine) { return show(); }
    return fetch("/field/data.json", {
      headers: { "Accept": "application/json" }, credentials: "same-origin",
      cache: "no-store", redirect: "manual"
    }).then(function (response) {
      if (!response.ok) {
        if (response.status === 401 || response.type === "opaqueredirect") {
          status(T.login_again);
        }
        return show();
      }
      return response.json().then(function (data) {
        return writeBundle(data).then(show);
      });
    }, function () { return show(); });
  }

  // --- showing -----------------------------------------------------------------------------

  function el(tag, text, className) {
    var node = document.createElement(tag);
    if (text !== undefined && text !== null) { node.textContent = String(text); }
    if (className) { node.className = className; }
    return node;
  }

  function localDate(iso) {
    if (!iso) { return ""; }
    var d = new Date(iso);
    return isNaN(d.getTime()) ? iso : d.toLocaleString(document.documentElement.lang || undefined);
  }

  function assetName(asset) {
    var en = document.documentElement.lang === "en";
    return asset.code + " " + (en && asset.name_en ? asset.name_en : asset.name_zh);
  }

  function label(pairs, value) {
    var found = (pairs || []).filter(function (p) { return p[0] === value; })[0];
    return found ? found[1] : value;
  }

  function status(text) {
    var line = document.getElementById("field-status");
    var online = navigator.onLine;
    line.classList.toggle("is-offline", !online);
    var parts = [online ? T.online : T.offline];
    if (bundle && bundle.read_at) { parts.push(T.read_at + " " + localDate(bundle.read_at)); }
    if (text) { parts.push(text); }
    line.textContent = parts.join(" · ");
  }

  function describe(item) {
    var kinds = {
      record: T.kind_record, finding: T.kind_finding, photo: T.kind_photo,
      submit: T.kind_submit, ticket: T.kind_ticket
    };
    return kinds[item.kind] + " · " + (item.title || "#" + item.target);
  }

  function showQueue(items) {
    var list = document.getElementById("pending-list");
    list.textContent = "";
    document.getElementById("pending-count").textContent = String(items.length);
    root.setAttribute("data-pending", String(items.filter(function (i) {
      return i.state === "pending";
    }).length));
    root.setAttribute("data-conflicts", String(items.filter(function (i) {
      return i.state === "conflict";
    }).length));
    if (!items.length) { list.appendChild(el("li", T.nothing_pending, "muted")); return; }
    items.forEach(function (item) {
      var li = el("li", null, "queue-item");
      li.setAttribute("data-kind", item.kind);
      li.setAttribute("data-state", item.state);
      var text = el("div", describe(item), "field-item-text");
      if (item.state === "conflict") {
        text.appendChild(el("small", T.conflict + ": " + item.message, "is-conflict"));
        var discard = el("button", T.discard, "small");
        discard.type = "button";
        discard.addEventListener("click", function () { dropItem(item.id).then(show); });
        li.appendChild(text);
        li.appendChild(discard);
      } else {
        text.appendChild(el("small", T.pending + " · " + localDate(item.queuedAt)));
        li.appendChild(text);
      }
      list.appendChild(li);
    });
  }

  function showInspections() {
    var list = document.getElementById("inspection-list");
    list.textContent = "";
    var rows = (bundle && bundle.inspections) || [];
    if (!rows.length) { list.appendChild(el("li", T.no_inspections, "muted")); return; }
    rows.forEach(function (ins) {
      var li = el("li");
      li.setAttribute("data-inspection", String(ins.id));
      var text = el("div", assetName(ins.asset), "field-item-text");
      text.appendChild(el("small", ins.type + " · " + T.due + " " + localDate(ins.due_at)));
      if (ins.is_overdue) { text.appendChild(el("span", T.overdue, "badge is-overdue")); }
      var open = el("button", T.record, "primary");
      open.type = "button";
      open.addEventListener("click", function () { inspectionForm(ins); });
      li.appendChild(text);
      li.appendChild(open);
      list.appendChild(li);
    });
  }

  function showTickets() {
    var list = document.getElementById("ticket-list");
    list.textContent = "";
    var rows = (bundle && bundle.tickets) || [];
    if (!rows.length) { list.appendChild(el("li", T.no_tickets, "muted")); return; }
    rows.forEach(function (t) {
      var li = el("li");
      li.setAttribute("data-ticket", String(t.id));
      var text = el("div", "#" + t.id + " " + t.title, "field-item-text");
      text.appendChild(el("small", [t.priority, t.status, assetName(t.asset)].join(" · ")));
      if (t.is_overdue) { text.appendChild(el("span", T.overdue, "badge is-overdue")); }
      li.appendChild(text);
      if (t.can_complete) {
        var complete = el("button", T.complete, "primary");
        complete.type = "button";
        complete.addEventListener("click", function () { ticketForm(t); });
        li.appendChild(complete);
      }
      list.appendChild(li);
    });
  }

  function show() {
    return queued().then(function (items) {
      showQueue(items);
      showInspections();
      showTickets();
      status("");
    });
  }

  // --- the offline forms -------------------------------------------------------------------

  function field(labelText, control, id) {
    var wrap = el("div", null, "field");
    var lab = el("label", labelText);
    control.id = id;
    lab.htmlFor = id;
    wrap.appendChild(lab);
    wrap.appendChild(control);
    return wrap;
  }

  function select(name, pairs, value, emptyText) {
    var s = el("select");
    s.name = name;
    if (emptyText !== undefined) { s.appendChild(new Option(emptyText, "")); }
    (pairs || []).forEach(function (p) { s.appendChild(new Option(p[1], p[0], false, p[0] === value)); });
    s.value = value || "";
    return s;
  }

  function formSection() {
    var section = document.getElementById("field-form");
    section.textContent = "";
    section.hidden = false;
    return section;
  }

  function closeForm() {
    var section = document.getElementById("field-form");
    section.textContent = "";
    section.hidden = true;
  }

  function facts(ins) {
    var dl = el("dl", null, "field-facts");
    function row(term, value) {
      if (value === null || value === undefined || value === "") { return; }
      dl.appendChild(el("dt", term));
      dl.appendChild(el("dd", value));
    }
    row(T.site, ins.asset.site);
    row(T.built, ins.asset.built_year);
    row(T.grade, ins.asset.condition_grade);
    var last = ins.last_inspection;
    row(T.last_inspection, last
      ? [localDate(last.completed_at), last.type, last.grade, last.summary].filter(Boolean).join(" · ")
      : T.never_inspected);
    return dl;
  }

  function inspectionForm(ins) {
    var choices = bundle.choices;
    var section = formSection();
    var form = el("form");
    form.setAttribute("data-field-inspection", String(ins.id));
    form.noValidate = true;
    form.appendChild(el("h2", assetName(ins.asset)));
    form.appendChild(el("p", ins.type + " · " + T.due + " " + localDate(ins.due_at), "muted"));
    form.appendChild(facts(ins));

    if (ins.checklist.length) {
      form.appendChild(el("h3", T.checklist));
      ins.checklist.forEach(function (item) {
        var set = el("fieldset", null, "field-check");
        var en = document.documentElement.lang === "en";
        set.appendChild(el("legend", en && item.en ? item.en : item.zh));
        var current = (ins.answers[item.key] || {}).answer || "";
        var row = el("div", null, "field-choices");
        choices.answers.forEach(function (p) {
          var lab = el("label");
          var radio = el("input");
          radio.type = "radio";
          radio.name = "answer__" + item.key;
          radio.value = p[0];
          radio.checked = p[0] === current;
          lab.appendChild(radio);
          lab.appendChild(document.createTextNode(p[1]));
          row.appendChild(lab);
        });
        set.appendChild(row);
        var note = el("input");
        note.type = "text";
        note.name = "note__" + item.key;
        note.maxLength = 500;
        note.value = (ins.answers[item.key] || {}).note || "";
        set.appendChild(field(T.note, note, "field-note-" + item.key));
        form.appendChild(set);
      });
    }

    if (ins.components.length) {
      form.appendChild(el("h3", T.components));
      ins.components.forEach(function (c) {
        var line = el("div", null, "field-score");
        var input = el("input");
        input.type = "number";
        input.min = "0";
        input.max = "100";
        input.step = "1";
        input.inputMode = "numeric";
        input.name = "score__" + c.id;
        var kept = ins.conditions[String(c.id)];
        input.value = kept && kept.score !== null ? String(kept.score) : "";
        input.id = "field-score-" + c.id;
        var lab = el("label", document.documentElement.lang === "en" && c.name_en ? c.name_en : c.name_zh,
          "depth-" + Math.min(c.depth || 0, 2));
        lab.htmlFor = input.id;
        line.appendChild(lab);
        line.appendChild(input);
        form.appendChild(line);
      });
    }

    form.appendChild(field(T.weather, select("weather", choices.weather, ins.weather, "—"), "field-weather"));
    form.appendChild(field(T.recommendation,
      select("recommendation", choices.recommendations, ins.recommendation, T.not_chosen),
      "field-recommendation"));
    var summary = el("textarea");
    summary.name = "summary";
    summary.rows = 3;
    summary.maxLength = 8000;
    summary.value = ins.summary || "";
    form.appendChild(field(T.summary, summary, "field-summary"));
    var finding = el("textarea");
    finding.name = "finding";
    finding.rows = 2;
    finding.maxLength = 4000;
    form.appendChild(field(T.finding, finding, "field-finding"));
    var photo = el("input");
    photo.type = "file";
    photo.name = "photo";
    photo.accept = "image/*";
    photo.setAttribute("capture", "environment");
    form.appendChild(field(T.photo, photo, "field-photo"));
    var submitBox = el("input");
    submitBox.type = "checkbox";
    submitBox.name = "submit_for_review";
    var submitLabel = el("label");
    submitLabel.appendChild(submitBox);
    submitLabel.appendChild(document.createTextNode(" " + T.submit_for_review));
    form.appendChild(submitLabel);
    var error = el("p", "", "field-error");
    error.setAttribute("role", "alert");
    form.appendChild(error);
    form.appendChild(buttons(T.save));
    form.addEventListener("submit", function (event) {
      event.preventDefault();
      var steps = inspectionSteps(ins, form);
      if (!steps) { error.textContent = T.score_invalid; return; }
      queueAll(steps).then(afterQueue);
    });
    section.appendChild(form);
    section.scrollIntoView();
  }

  function buttons(saveText) {
    var actions = el("div", null, "field-form-actions");
    var save = el("button", saveText, "primary");
    save.type = "submit";
    var cancel = el("button", T.cancel);
    cancel.type = "button";
    cancel.addEventListener("click", closeForm);
    actions.appendChild(save);
    actions.appendChild(cancel);
    return actions;
  }

  /* The queued steps of one save, in the order the server needs them; null when a score is
     not a number from 0 to 100. */
  function inspectionSteps(ins, form) {
    var answers = {};
    var notes = {};
    ins.checklist.forEach(function (item) {
      var chosen = form.querySelector('input[name="answer__' + item.key + '"]:checked');
      if (chosen) { answers[item.key] = chosen.value; }
      var note = form.elements["note__" + item.key].value.trim();
      if (note) { notes[item.key] = note; }
    });
    var conditions = [];
    var bad = false;
    ins.components.forEach(function (c) {
      var raw = form.elements["score__" + c.id].value.trim();
      if (!raw) { return; }
      var score = Number(raw);
      if (isNaN(score) || score < 0 || score > 100) { bad = true; return; }
      conditions.push({ component_id: c.id, score: score });
    });
    if (bad) { return null; }
    var record = { version: ins.version, answers: answers, answer_notes: notes, conditions: conditions,
      summary: form.elements.summary.value };
    if (form.elements.weather.value) { record.weather = form.elements.weather.value; }
    if (form.elements.recommendation.value) { record.recommendation = form.elements.recommendation.value; }
    var title = assetName(ins.asset);
    var steps = [{ kind: "record", target: ins.id, title: title, body: record }];
    var finding = form.elements.finding.value.trim();
    if (finding) {
      steps.push({ kind: "finding", target: ins.id, title: title, body: { description: finding } });
    }
    var file = form.elements.photo.files[0];
    if (file) {
      steps.push({ kind: "photo", target: ins.id, title: title, blob: file, filename: file.name });
    }
    if (form.elements.submit_for_review.checked) {
      steps.push({ kind: "submit", target: ins.id, title: title, body: { version: ins.version + 1 } });
    }
    return steps;
  }

  function ticketForm(t) {
    var section = formSection();
    var form = el("form");
    form.setAttribute("data-field-ticket", String(t.id));
    form.appendChild(el("h2", "#" + t.id + " " + t.title));
    form.appendChild(el("p", [t.priority, t.status, assetName(t.asset)].join(" · "), "muted"));
    if (t.scope) { form.appendChild(el("p", t.scope)); }
    var note = el("textarea");
    note.name = "note";
    note.rows = 3;
    note.maxLength = 4000;
    form.appendChild(field(T.complete_note, note, "field-ticket-note"));
    form.appendChild(buttons(T.complete));
    form.addEventListener("submit", function (event) {
      event.preventDefault();
      queueAll([{
        kind: "ticket", target: t.id, title: "#" + t.id + " " + t.title,
        body: { action: "complete", version: t.version, note: note.value.trim() }
      }]).then(afterQueue);
    });
    section.appendChild(form);
    section.scrollIntoView();
  }

  function queueAll(steps) {
    return steps.reduce(function (chain, step) {
      return chain.then(function () { return enqueue(step); });
    }, Promise.resolve());
  }

  function afterQueue() {
    closeForm();
    return show().then(function () {
      status(T.queued);
      return sync();
    });
  }

  // --- start -------------------------------------------------------------------------------

  function registerWorker() {
    if (!("serviceWorker" in navigator)) { return Promise.resolve(); }
    return navigator.serviceWorker.register("/field/sw.js", { scope: "/field" }).then(function () {
      return navigator.serviceWorker.ready;
    })["catch"](function () { return null; });
  }

  function start() {
    document.getElementById("field-sync").addEventListener("click", function () { sync(); });
    document.getElementById("field-logout").addEventListener("submit", function (event) {
      var form = event.target;
      if (form.getAttribute("data-wiped") === "yes") { return; }
      event.preventDefault();
      var token = csrfToken();
      if (token) { form.elements._csrf_token.value = token; }
      wipe().then(function () {
        form.setAttribute("data-wiped", "yes");
        form.submit();
      });
    });
    window.addEventListener("online", function () { sync(); });
    window.addEventListener("offline", function () { status(""); });

    readBundle().then(function (kept) {
      // a bundle of someone else (they left without logging out here): wipe it first
      if (kept && kept.user && kept.user.id !== userId) {
        return wipe().then(function () { return null; });
      }
      return kept;
    }).then(function (kept) {
      bundle = kept || null;
      return show();
    }).then(function () {
      return navigator.onLine ? sync().then(refresh) : null;
    }).then(function () {
      return readBundle();
    }).then(function (kept) {
      bundle = kept || bundle;
      return show();
    }).then(registerWorker).then(function () {
      root.setAttribute("data-ready", bundle ? "yes" : "no");
    });
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
}());
