/* One tap, one submission. After a form is sent its submit buttons are disabled and a second
   submit is ignored, so a double tap on a phone sends the form once. Progressive enhancement
   only: the server is the guarantee (every form carries a one-time _submission key and a
   repeat gets the first answer). The buttons are disabled after the submit event has been
   handled, so the pressed button's name and value are still sent; they are enabled again
   when the page comes back from the browser's back/forward cache. */
(function () {
  "use strict";

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
