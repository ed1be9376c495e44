/* Show or hide a password (GOV.UK's password input): progressive enhancement only, every form
 * works without it. The words come translated from the page (#hw-password-strings). */
(function () {
  "use strict";
  document.addEventListener("DOMContentLoaded", function () {
    var strings = document.getElementById("hw-password-strings");
    if (!strings) {
      return;
    }
    var words = strings.dataset;
    document.querySelectorAll("input[type=password]").forEach(function (input) {
      if (!input.id || input.closest(".hw-password")) {
        return;
      }
      var wrapper = document.createElement("div");
      wrapper.className = "hw-password";
      input.parentNode.insertBefore(wrapper, input);
      wrapper.appendChild(input);

      var button = document.createElement("button");
      button.type = "button";
      button.className = "hw-password__toggle";
      button.setAttribute("aria-controls", input.id);
      wrapper.appendChild(button);

      // Announces the change; empty until the person uses the button.
      var status = document.createElement("div");
      status.className = "hw-visually-hidden";
      status.setAttribute("aria-live", "polite");
      wrapper.appendChild(status);

      function show(visible) {
        input.type = visible ? "text" : "password";
        button.textContent = visible ? words.hide : words.show;
        button.setAttribute("aria-label", visible ? words.hideLabel : words.showLabel);
      }

      button.addEventListener("click", function () {
        var visible = input.type === "password";
        show(visible);
        status.textContent = visible ? words.shown : words.hidden;
      });
      // Sent as a password, so browsers do not keep it as ordinary text.
      if (input.form) {
        input.form.addEventListener("submit", function () {
          show(false);
        });
      }
      // Back to the page from the back-forward cache: hidden again.
      window.addEventListener("pageshow", function () {
        show(false);
        status.textContent = "";
      });
      show(false);
    });
  });
})();
