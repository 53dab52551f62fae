/* The ticket board (/tickets/board): drag a card to another column to move the ticket there.

   Progressive enhancement over the page's own forms: every card that may move has a "Move to…"
   form that works without this script (and is the keyboard's and the phone's way). Here:
   - a card dropped on a column (native HTML5 drag and drop), or its "Move to…" form sent, is
     posted to /tickets/board/move with fetch, as the form would be (the same fields, the CSRF
     header, an Idempotency-Key per attempt, Accept: application/json);
   - the server finds the transition leading to that column and runs it through the same service
     and guards as the ticket page's buttons. An allowed move lands the card, updates its version,
     its next moves and the counts; a refused one puts the card back where it was and says the
     server's words (in the reader's language) in the page's live region;
   - a move that needs something (a reason, a planned start, a note when there is no "after"
     photo) opens a small dialog asking for it, then is sent again with it;
   - the board scrolls sideways: a fade at an edge says more columns are behind it.
   Text from the server is only ever set with textContent. */
(function () {
  "use strict";

  var frame = document.getElementById("board");
  if (!frame) { return; }
  var scroller = frame.querySelector(".board-scroll");
  var live = document.getElementById("board-live");
  var dialog = document.getElementById("board-dialog");
  var T = JSON.parse(frame.getAttribute("data-texts") || "{}");
  var dragged = null;
  var asking = null; // {card, column} while the dialog is open

  function fmt(text, values) {
    return String(text).replace(/%\((\w+)\)s/g, function (whole, name) {
      return Object.prototype.hasOwnProperty.call(values, name) ? String(values[name]) : whole;
    });
  }

  function say(message, ok) {
    live.textContent = message;
    live.className = "board-live flash " + (ok ? "flash-success" : "flash-error");
  }

  function columnName(column) {
    var head = frame.querySelector('.board-head[data-column="' + CSS.escape(column) + '"] .board-head-name');
    return head ? head.textContent : column;
  }

  function cellFor(card, column) {
    return frame.querySelector('.board-cell[data-column="' + CSS.escape(column) + '"][data-lane="' +
      CSS.escape(card.getAttribute("data-lane") || "") + '"]');
  }

  function moves(card) {
    try { return JSON.parse(card.getAttribute("data-moves") || "{}"); } catch (e) { return {}; }
  }

  function showEmpties() {
    Array.prototype.forEach.call(frame.querySelectorAll(".board-cell"), function (cell) {
      var empty = cell.querySelector(".board-empty");
      if (empty) { empty.hidden = cell.querySelector(".board-card") !== null; }
    });
  }

  function addToCount(column, delta) {
    Array.prototype.forEach.call(
      document.querySelectorAll('.board-count[data-count="' + CSS.escape(column) + '"]'),
      function (badge) {
        var n = parseInt(badge.textContent, 10);
        if (!isNaN(n)) { badge.textContent = String(Math.max(0, n + delta)); }
      }
    );
  }

  /* The card's "Move to…" form, rebuilt for its new status (or removed when nothing is left). */
  function refreshForm(card, data) {
    card.setAttribute("data-moves", JSON.stringify(data.moves || {}));
    var form = card.querySelector("form.board-move");
    if (!form) { return; }
    var targets = Object.keys(data.moves || {});
    if (!targets.length) { form.parentNode.removeChild(form); return; }
    form.querySelector('input[name="version"]').value = String(data.version);
    var select = form.querySelector("select");
    while (select.options.length > 1) { select.remove(1); }
    select.value = "";
    targets.forEach(function (target) {
      var option = document.createElement("option");
      option.value = target;
      option.textContent = columnName(target) + " (" + data.moves[target].label + ")";
      select.appendChild(option);
    });
  }

  function problem(response) {
    return response.json().then(function (data) { return data || {}; }, function () {
      return { detail: T.failed };
    });
  }

  function post(card, column, extra) {
    var body = new URLSearchParams();
    body.set("ticket_id", card.getAttribute("data-ticket"));
    body.set("to", column);
    body.set("version", card.getAttribute("data-version"));
    Object.keys(extra || {}).forEach(function (name) { body.set(name, extra[name]); });
    return window.facilitiesWrites.postForm("/tickets/board/move", body);
  }

  /* What the server asked for, if a refusal is only missing data the dialog can ask for. */
  function missing(data) {
    var found = "";
    (data.extra || []).forEach(function (item) {
      if (item && (item.key === "note" || item.key === "planned_start_on")) { found = found || item.key; }
    });
    return found;
  }

  function move(card, column, extra) {
    var from = card.getAttribute("data-status");
    if (!column || column === from) { return; }
    var known = moves(card)[column];
    if (!extra && known && known.asks) { ask(card, column, known.asks, ""); return; }
    var target = cellFor(card, column);
    var home = card.parentNode;
    var next = card.nextSibling;
    var id = card.getAttribute("data-ticket");
    if (target) { target.insertBefore(card, target.firstChild); }
    card.classList.add("moving");
    card.setAttribute("aria-busy", "true");
    showEmpties();
    say(fmt(T.moving, { id: id }), true);

    function putBack(message) {
      home.insertBefore(card, next && next.parentNode === home ? next : null);
      card.classList.remove("moving");
      card.removeAttribute("aria-busy");
      showEmpties();
      if (message) { say(message, false); }
    }

    post(card, column, extra).then(function (response) {
      if (response.ok) {
        return response.json().then(function (data) {
          card.classList.remove("moving");
          card.removeAttribute("aria-busy");
          card.setAttribute("data-status", data.status);
          card.setAttribute("data-version", String(data.version));
          card.classList.toggle("overdue", !!data.is_overdue);
          if (!target) { window.location.reload(); return; }
          addToCount(from, -1);
          addToCount(data.status, 1);
          refreshForm(card, data);
          say(fmt(T.moved, { id: id, column: columnName(data.status) }) + " " + data.message, true);
        });
      }
      if (response.status === 401 || response.type === "opaqueredirect") {
        putBack(T.login);
        return null;
      }
      return problem(response).then(function (data) {
        var needs = response.status === 400 ? missing(data) : "";
        putBack(needs ? "" : (data.detail || T.failed));
        if (needs) { ask(card, column, needs, data.detail || ""); }
      });
    }, function () {
      putBack(T.failed);
    });
  }

  // --- the dialog asking for what a move needs ---------------------------------------------

  function ask(card, column, asks, message) {
    if (!dialog || typeof dialog.showModal !== "function") {
      say(message || T.failed, false);
      return;
    }
    asking = { card: card, column: column };
    var title = document.getElementById("board-dialog-title");
    title.textContent = fmt(T.dialog_title, { id: card.getAttribute("data-ticket"), column: columnName(column) });
    var error = document.getElementById("board-dialog-error");
    error.textContent = message;
    error.hidden = !message;
    Array.prototype.forEach.call(dialog.querySelectorAll("[data-asks]"), function (field) {
      var wanted = field.getAttribute("data-asks") === asks;
      field.hidden = !wanted;
      var input = field.querySelector("textarea, input");
      input.disabled = !wanted;
      input.required = wanted;
      if (wanted) { input.value = ""; }
    });
    var noteLabel = dialog.querySelector('label[for="board-note"]');
    var action = (moves(card)[column] || {}).action;
    noteLabel.textContent = action === "complete" ? T.note_optional : T.note;
    dialog.returnValue = "";
    dialog.showModal();
    var first = dialog.querySelector("[data-asks]:not([hidden]) textarea, [data-asks]:not([hidden]) input");
    if (first) { first.focus(); }
  }

  if (dialog) {
    dialog.addEventListener("close", function () {
      var pending = asking;
      asking = null;
      if (!pending || dialog.returnValue !== "send") {
        if (pending) {
          var select = pending.card.querySelector("form.board-move select");
          if (select) { select.value = ""; }
        }
        return;
      }
      var extra = {};
      Array.prototype.forEach.call(dialog.querySelectorAll("[data-asks]"), function (field) {
        var input = field.querySelector("textarea, input");
        if (!input.disabled) { extra[input.name] = input.value; }
      });
      move(pending.card, pending.column, extra);
    });
    var closer = dialog.querySelector("[data-close]");
    if (closer) { closer.addEventListener("click", function () { dialog.close("cancel"); }); }
  }

  // --- dragging and the "Move to…" forms ---------------------------------------------------

  Array.prototype.forEach.call(frame.querySelectorAll(".board-card"), function (card) {
    card.setAttribute("draggable", "true");
  });

  function clearTargets() {
    Array.prototype.forEach.call(frame.querySelectorAll(".drop-target"), function (cell) {
      cell.classList.remove("drop-target");
    });
  }

  frame.addEventListener("dragstart", function (event) {
    var card = event.target.closest ? event.target.closest(".board-card") : null;
    if (!card) { return; }
    dragged = card;
    card.classList.add("dragging");
    event.dataTransfer.effectAllowed = "move";
    event.dataTransfer.setData("text/plain", "#" + card.getAttribute("data-ticket"));
  });

  frame.addEventListener("dragend", function () {
    if (dragged) { dragged.classList.remove("dragging"); }
    dragged = null;
    clearTargets();
  });

  frame.addEventListener("dragover", function (event) {
    if (!dragged) { return; }
    var over = event.target.closest ? event.target.closest("[data-column]") : null;
    if (!over) { return; }
    event.preventDefault();
    event.dataTransfer.dropEffect = "move";
    var cell = cellFor(dragged, over.getAttribute("data-column"));
    if (cell && !cell.classList.contains("drop-target")) {
      clearTargets();
      cell.classList.add("drop-target");
    }
  });

  frame.addEventListener("drop", function (event) {
    var over = event.target.closest ? event.target.closest("[data-column]") : null;
    if (!dragged || !over) { return; }
    event.preventDefault();
    var card = dragged;
    card.classList.remove("dragging");
    dragged = null;
    clearTargets();
    move(card, over.getAttribute("data-column"), null);
  });

  frame.addEventListener("submit", function (event) {
    var form = event.target;
    if (!form.classList || !form.classList.contains("board-move")) { return; }
    event.preventDefault(); // forms.js leaves a prevented submission alone
    var select = form.querySelector("select");
    move(form.closest(".board-card"), select.value, null);
  });

  // --- on a phone the filters fold away (unless some are set), so the board comes first -----

  var filters = document.querySelector("details.board-filters");
  if (filters && !filters.hasAttribute("data-filtered") &&
      window.matchMedia && window.matchMedia("(max-width: 700px)").matches) {
    filters.open = false;
  }

  // --- the edge cues -----------------------------------------------------------------------

  function cues() {
    var left = scroller.scrollLeft;
    frame.classList.toggle("more-left", left > 2);
    frame.classList.toggle("more-right", left + scroller.clientWidth < scroller.scrollWidth - 2);
  }
  scroller.addEventListener("scroll", cues, { passive: true });
  window.addEventListener("resize", cues);
  cues();
})();
