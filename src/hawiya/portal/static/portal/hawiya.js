/* Progressive enhancement only: every journey works without this file (UI.md §2). */
(function () {
  "use strict";
  document.addEventListener("DOMContentLoaded", function () {
    // GOV.UK error summary: move focus to it so screen readers announce the problems first.
    var summary = document.querySelector("[data-error-summary]");
    if (summary) {
      summary.focus();
    }
    // Forms send once: a second click while the page loads does nothing.
    document.querySelectorAll("form[method=post]").forEach(function (form) {
      form.addEventListener("submit", function (event) {
        if (form.dataset.sent === "1") {
          event.preventDefault();
          return;
        }
        form.dataset.sent = "1";
      });
    });
  });
  // Back/forward cache: a page shown again may be sent again.
  window.addEventListener("pageshow", function () {
    document.querySelectorAll("form[data-sent]").forEach(function (form) {
      delete form.dataset.sent;
    });
  });
})();
