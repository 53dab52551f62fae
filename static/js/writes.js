/* What every script that writes to the server from a logged-in page sends: the CSRF header (the
   csrftoken cookie's value), an Idempotency-Key (so a retried request is answered once), and
   Accept: application/json so refusals come back as {"detail": ...}. One copy for the board,
   the calendar and the field app; loaded (deferred) before them. */
(function () {
  "use strict";

  function csrfToken() {
    var found = document.cookie.split("; ").filter(function (c) {
      return c.indexOf("csrftoken=") === 0;
    })[0];
    return found ? decodeURIComponent(found.slice("csrftoken=".length)) : "";
  }

  function newKey() {
    if (window.crypto && window.crypto.randomUUID) { return window.crypto.randomUUID(); }
    var bytes = new Uint8Array(16);
    window.crypto.getRandomValues(bytes);
    return Array.prototype.map.call(bytes, function (b) {
      return ("0" + b.toString(16)).slice(-2);
    }).join("");
  }

  /* POST ``body`` (URLSearchParams) as a form, with a fresh key per attempt. */
  function postForm(url, body) {
    return fetch(url, {
      method: "POST",
      headers: {
        "Accept": "application/json",
        "Content-Type": "application/x-www-form-urlencoded",
        "X-CSRFToken": csrfToken(),
        "Idempotency-Key": newKey()
      },
      body: body.toString(),
      credentials: "same-origin",
      redirect: "manual"
    });
  }

  window.facilitiesWrites = { csrfToken: csrfToken, newKey: newKey, postForm: postForm };
})();
