/* Progressive enhancement only: every journey works without this file (docs/ui.md §2). */
(function () {
  "use strict";
  // An error-summary link lands on the field's first control (a group's first radio, not its
  // fieldset) and scrolls so that the question (legend or label) and the error message above the
  // control are in view too; the browser's jump would hide them under the top edge. Without JS the
  // link's anchor is the first control already.
  function focusField(id) {
    var target = document.getElementById(id);
    if (!target) {
      return false;
    }
    var control = target.matches("input, select, textarea, button")
      ? target
      : target.querySelector("input:not([type=hidden]):not([disabled]), select, textarea");
    if (!control) {
      return false;
    }
    var fieldset = control.closest("fieldset");
    var legend = fieldset && fieldset.querySelector("legend");
    var label = document.querySelector("label[for='" + control.id + "']") || control.closest("label");
    var heading = legend || label || control;
    // The topmost of the question and its error messages, unless that is more than a screen away.
    var top = heading;
    var group = control.closest(".hw-form-group") || fieldset;
    if (group) {
      group.querySelectorAll(".hw-error-message").forEach(function (message) {
        if (message.getBoundingClientRect().top < top.getBoundingClientRect().top) {
          top = message;
        }
      });
    }
    if (control.getBoundingClientRect().bottom - top.getBoundingClientRect().top > window.innerHeight) {
      top = label || control;
    }
    top.scrollIntoView();
    control.focus({ preventScroll: true });
    return true;
  }
  document.addEventListener("DOMContentLoaded", function () {
    // GOV.UK error summary: move focus to it so screen readers announce the problems first.
    var summary = document.querySelector("[data-error-summary]");
    if (summary) {
      summary.focus();
      summary.addEventListener("click", function (event) {
        var link = event.target.closest("a[href^='#']");
        if (link && focusField(link.getAttribute("href").slice(1))) {
          event.preventDefault();
        }
      });
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
  // The header's menu is a <details> that works without this; here it also closes like a menu:
  // on Escape (focus back on its summary), on a click outside it and when focus leaves it.
  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll("details[data-header-menu]").forEach(function (menu) {
      var summary = menu.querySelector("summary");
      menu.addEventListener("keydown", function (event) {
        if (event.key === "Escape" && menu.open) {
          menu.open = false;
          summary.focus();
        }
      });
      menu.addEventListener("focusout", function (event) {
        if (menu.open && event.relatedTarget && !menu.contains(event.relatedTarget)) {
          menu.open = false;
        }
      });
      document.addEventListener("click", function (event) {
        if (menu.open && !menu.contains(event.target)) {
          menu.open = false;
        }
      });
    });
  });
  // Idle time-out warning: two minutes before the server signs an idle person out, offer to
  // stay signed in. "Stay signed in" asks the keep-alive URL, which records the activity.
  document.addEventListener("DOMContentLoaded", function () {
    var body = document.body;
    var after = parseInt(body.dataset.idleWarningAfter || "", 10);
    var warning = document.getElementById("hw-idle-warning");
    if (!after || !warning || !window.fetch) {
      return;
    }
    var timer = null;
    function arm() {
      window.clearTimeout(timer);
      timer = window.setTimeout(function () {
        warning.hidden = false;
      }, after * 1000);
    }
    warning.querySelector("[data-keep-alive]").addEventListener("click", function () {
      window.fetch(body.dataset.keepAliveUrl, { credentials: "same-origin", cache: "no-store" })
        .then(function (response) {
          if (response.status === 204) {
            warning.hidden = true;
            arm();
          } else {
            window.location.reload();
          }
        });
    });
    arm();
  });
  // Back/forward cache: a page shown again may be sent again.
  window.addEventListener("pageshow", function () {
    document.querySelectorAll("form[data-sent]").forEach(function (form) {
      delete form.dataset.sent;
    });
  });
})();
