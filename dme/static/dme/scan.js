/* Barcode scanning in the admin's receive form (dme).
 *
 * A scanner acts as a keyboard: it types the code and presses Enter. In a form, Enter
 * would submit it; in an input marked data-scan it moves to the next scan field (or
 * the next field of the form) instead, so one scan fills one line. Served from this
 * site (no CDN); the page's Content-Security-Policy allows it. */
(function () {
  "use strict";
  function fields(form) {
    return Array.prototype.filter.call(
      form.querySelectorAll("input, select, textarea"),
      function (el) { return el.type !== "hidden" && !el.disabled && el.type !== "submit"; }
    );
  }
  document.addEventListener("keydown", function (event) {
    var target = event.target;
    if (event.key !== "Enter" || !target.hasAttribute || !target.hasAttribute("data-scan")) {
      return;
    }
    event.preventDefault();
    var form = target.form;
    if (!form) { return; }
    var all = fields(form);
    var index = all.indexOf(target);
    var scans = all.filter(function (el) { return el.hasAttribute("data-scan"); });
    var next = scans[scans.indexOf(target) + 1] || all[index + 1];
    if (next) { next.focus(); if (next.select) { next.select(); } }
  });
  document.addEventListener("DOMContentLoaded", function () {
    var first = document.querySelector("input[data-scan]");
    if (first) { first.focus(); }
  });
})();
