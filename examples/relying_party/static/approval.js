// Example Bank: the approval page asks the bank (never Hawiya directly) for the approval's status
// every few seconds until it ends, and shows Hawiya's answer in the page's language. Without
// JavaScript, the page's "Refresh the status" link does the same by hand.
(function () {
  "use strict";
  var box = document.querySelector("[data-approval-status]");
  if (!box || box.getAttribute("data-approval-status") !== "WAITING") {
    return;
  }
  var url = box.getAttribute("data-poll-url");
  var message = box.querySelector("[data-approval-message]");
  var delay = 2000;

  function show(answer) {
    box.setAttribute("data-approval-status", answer.status);
    box.classList.remove("bank-answer--wait");
    if (answer.status === "COMPLETED") {
      box.classList.add("bank-answer--good");
    } else if (answer.status !== "WAITING") {
      box.classList.add("bank-answer--bad");
    } else {
      box.classList.add("bank-answer--wait");
    }
    message.textContent = answer.message;
  }

  function poll() {
    fetch(url, { headers: { Accept: "application/json" }, credentials: "same-origin", cache: "no-store" })
      .then(function (response) {
        if (!response.ok) {
          throw new Error("status " + response.status);
        }
        return response.json();
      })
      .then(function (answer) {
        show(answer);
        delay = 2000;
        if (!answer.done) {
          window.setTimeout(poll, delay);
        }
      })
      .catch(function () {
        // The bank or the network hiccuped: try again, less often.
        delay = Math.min(delay * 2, 30000);
        window.setTimeout(poll, delay);
      });
  }

  window.setTimeout(poll, delay);
})();
