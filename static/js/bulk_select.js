/* "Select all on this page" on the ticket list: ticking the header box ticks every row's box
   (and unticking it unticks them); a row unticked by hand unticks the header box. Progressive
   enhancement only: without this script the header box is still sent (all_on_page) and the
   server takes every ticket of the page. */
(function () {
  "use strict";

  var form = document.getElementById("bulk-form");
  if (!form) { return; }
  var all = form.querySelector("input[name=all_on_page]");
  if (!all) { return; }

  function rows() { return form.querySelectorAll("input[name=ticket]"); }

  all.addEventListener("change", function () {
    Array.prototype.forEach.call(rows(), function (box) { box.checked = all.checked; });
  });
  form.addEventListener("change", function (event) {
    var box = event.target;
    if (box instanceof HTMLInputElement && box.name === "ticket" && !box.checked) {
      all.checked = false;
    }
  });
})();
