/* The approvals page: ask every few seconds for the waiting requests, and show them when they
   changed (a party just sent one). Progressive enhancement: without it, a reload shows them. */
(function () {
  "use strict";
  document.addEventListener("DOMContentLoaded", function () {
    var box = document.querySelector("[data-approvals]");
    if (!box || !window.fetch) {
      return;
    }
    var url = box.dataset.pollUrl;
    var every = (parseInt(box.dataset.pollSeconds || "", 10) || 4) * 1000;
    var shown = box.dataset.ids || "";
    var busy = false;
    function poll() {
      if (busy || document.hidden) {
        return;
      }
      busy = true;
      window.fetch(url, {
        credentials: "same-origin",
        cache: "no-store",
        redirect: "error",
        // Not the person's activity: the idle sign-out still comes.
        headers: { Accept: "application/json", "X-Hawiya-Background": "1" }
      })
        .then(function (response) {
          if (!response.ok) {
            throw new Error(String(response.status));
          }
          return response.json();
        })
        .then(function (answer) {
          var ids = answer.ids.join(",");
          if (ids !== shown) {
            shown = ids;
            box.dataset.ids = ids;
            box.innerHTML = answer.html;
          }
        })
        .catch(function () {
          // Signed out or offline: the next poll tries again; a reload says why.
        })
        .then(function () {
          busy = false;
        });
    }
    // A list swapped in has forms hawiya.js never saw: each still sends once (a second tap while
    // the answer loads would find the request ended).
    box.addEventListener("submit", function (event) {
      var form = event.target;
      if (form.dataset.approvalSent === "1") {
        event.preventDefault();
        return;
      }
      form.dataset.approvalSent = "1";
    });
    window.setInterval(poll, every);
    document.addEventListener("visibilitychange", poll);
  });
})();
