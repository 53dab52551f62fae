/* One tap, one submission. After a form is sent its submit buttons are disabled and a second
   submit is ignored, so a double tap on a phone sends the form once. Progressive enhancement
   only: the server is the guarantee (every form carries a one-time _submission key and a
   repeat gets the first answer). The buttons are disabled after the submit event has been
   handled, so the pressed button's name and value are still sent; they are enabled again
   when the page comes back from the browser's back/forward cache.

   A form on a public page carries an empty CSRF token: the page is the same bytes for every
   reader, so a shared cache can serve it (facilities/web/csrf.py). The token is the reader's
   csrftoken cookie; a reader without one gets it from /form-token, asked when they first touch
   such a form (not on every page view). If that fails the form is sent as it is, and the
   server shows it again, filled in, with a token to send once more. */
(function () {
  "use strict";

  var pending = null;

  function cookieToken() {
    var found = document.cookie.match(/(?:^|;\s*)csrftoken=([^;]+)/);
    return found ? decodeURIComponent(found[1]) : "";
  }

  function readerToken() {
    var token = cookieToken();
    if (token) { return Promise.resolve(token); }
    if (!pending) {
      pending = fetch("/form-token", { credentials: "same-origin", headers: { Accept: "application/json" } })
        .then(function (response) { return response.ok ? response.json() : {}; })
        .then(function (body) { return cookieToken() || body.token || ""; })
        .catch(function () { return ""; })
        .then(function (token) { pending = null; return token; });
    }
    return pending;
  }

  function emptySlots(form) {
    return Array.prototype.filter.call(
      form.querySelectorAll("input[name=_csrf_token]"), function (input) { return !input.value; });
  }

  document.addEventListener("focusin", function (event) {
    var form = event.target && event.target.form;
    if (form && emptySlots(form).length) { readerToken(); }
  });

  /* Runs before the one-submission guard below (capture phase): a form still waiting for its
     token is held back, filled in, then submitted again with the same button. */
  document.addEventListener("submit", function (event) {
    var form = event.target;
    if (!(form instanceof HTMLFormElement) || form.getAttribute("data-token-asked") === "true") {
      return;
    }
    var slots = emptySlots(form);
    if (!slots.length) { return; }
    event.preventDefault();
    event.stopImmediatePropagation();
    var submitter = event.submitter;
    form.setAttribute("data-token-asked", "true");
    readerToken().then(function (token) {
      slots.forEach(function (input) { input.value = token; });
      /* A task later: a form still firing its submit event ignores requestSubmit(). */
      window.setTimeout(function () {
        if (form.requestSubmit) { form.requestSubmit(submitter || undefined); } else { form.submit(); }
      }, 0);
    });
  }, true);

  function buttons(form) {
    return form.querySelectorAll("button[type=submit], button:not([type]), input[type=submit]");
  }

  document.addEventListener("submit", function (event) {
    var form = event.target;
    if (!(form instanceof HTMLFormElement) || (form.method || "").toLowerCase() !== "post") {
      return;
    }
    if (form.getAttribute("data-sent") === "true") {
      event.preventDefault();
      return;
    }
    if (event.defaultPrevented) { return; }
    form.setAttribute("data-sent", "true");
    form.setAttribute("aria-busy", "true");
    window.setTimeout(function () {
      Array.prototype.forEach.call(buttons(form), function (button) { button.disabled = true; });
    }, 0);
  });

  window.addEventListener("pageshow", function () {
    Array.prototype.forEach.call(document.querySelectorAll("form[data-sent]"), function (form) {
      form.removeAttribute("data-sent");
      form.removeAttribute("aria-busy");
      Array.prototype.forEach.call(buttons(form), function (button) { button.disabled = false; });
    });
  });
})();
