/* Passkeys (WebAuthn): make one on the "Add a passkey" page, sign in with one (the button and the
   browser's autofill on the username field), confirm it is you with one.

   Each form asks its options URL for the options (JSON, base64url), calls the browser, puts the
   answer (JSON) in the form's hidden "credential" field and submits the form: the server checks
   it and answers with an ordinary page. Progressive enhancement: without WebAuthn the passkey
   parts stay hidden (and the "this browser cannot use passkeys" notes shown); the words shown
   come from #hw-passkey-strings (scripts hold no text of their own). */
(function () {
  "use strict";

  function supported() {
    return Boolean(window.PublicKeyCredential && navigator.credentials && window.fetch);
  }

  // --- base64url <-> ArrayBuffer (PublicKeyCredential.parse…FromJSON is not in every browser) ---
  function toBuffer(value) {
    var text = value.replace(/-/g, "+").replace(/_/g, "/");
    while (text.length % 4) {
      text += "=";
    }
    var binary = window.atob(text);
    var bytes = new Uint8Array(binary.length);
    for (var i = 0; i < binary.length; i += 1) {
      bytes[i] = binary.charCodeAt(i);
    }
    return bytes.buffer;
  }

  function toBase64url(buffer) {
    var bytes = new Uint8Array(buffer);
    var binary = "";
    for (var i = 0; i < bytes.length; i += 1) {
      binary += String.fromCharCode(bytes[i]);
    }
    return window.btoa(binary).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
  }

  function descriptors(list) {
    return (list || []).map(function (item) {
      var copy = Object.assign({}, item);
      copy.id = toBuffer(item.id);
      return copy;
    });
  }

  function creationOptions(json) {
    var options = Object.assign({}, json);
    options.challenge = toBuffer(json.challenge);
    options.user = Object.assign({}, json.user, { id: toBuffer(json.user.id) });
    options.excludeCredentials = descriptors(json.excludeCredentials);
    return options;
  }

  function requestOptions(json) {
    var options = Object.assign({}, json);
    options.challenge = toBuffer(json.challenge);
    options.allowCredentials = descriptors(json.allowCredentials);
    return options;
  }

  function credentialJSON(credential) {
    var response = credential.response;
    var out = {
      id: credential.id,
      rawId: toBase64url(credential.rawId),
      type: credential.type,
      authenticatorAttachment: credential.authenticatorAttachment || null,
      clientExtensionResults: credential.getClientExtensionResults ? credential.getClientExtensionResults() : {},
      response: { clientDataJSON: toBase64url(response.clientDataJSON) }
    };
    if (response.attestationObject) {
      out.response.attestationObject = toBase64url(response.attestationObject);
      out.response.transports = response.getTransports ? response.getTransports() : [];
    } else {
      out.response.authenticatorData = toBase64url(response.authenticatorData);
      out.response.signature = toBase64url(response.signature);
      out.response.userHandle = response.userHandle ? toBase64url(response.userHandle) : null;
    }
    return JSON.stringify(out);
  }

  // --- The page -----------------------------------------------------------------------------
  function words(name) {
    var strings = document.getElementById("hw-passkey-strings");
    return (strings && strings.dataset[name]) || "";
  }

  function showError(form, message) {
    var box = form.parentNode.querySelector("[data-passkey-error]") || document.querySelector("[data-passkey-error]");
    if (box) {
      box.textContent = message;
      box.hidden = false;
    }
  }

  function failure(form, error) {
    var name = error && error.name;
    if (name === "AbortError") {
      return; // the autofill request was replaced by the button's
    }
    if (name === "InvalidStateError") {
      showError(form, words("exists"));
    } else if (name === "NotAllowedError") {
      showError(form, words("cancelled"));
    } else {
      showError(form, words("failed"));
    }
  }

  function fetchOptions(form) {
    var token = form.querySelector("input[name=csrfmiddlewaretoken]");
    return window
      .fetch(form.dataset.optionsUrl, {
        method: "POST",
        credentials: "same-origin",
        cache: "no-store",
        headers: { Accept: "application/json", "X-CSRFToken": token ? token.value : "" }
      })
      .then(function (response) {
        return response.json().then(function (answer) {
          if (!response.ok || !answer.publicKey) {
            var error = new Error(answer.message || "options");
            error.name = "HawiyaOptionsError";
            error.serverMessage = answer.message;
            throw error;
          }
          return answer.publicKey;
        });
      });
  }

  function submitWith(form, credential) {
    form.querySelector("input[name=credential]").value = credentialJSON(credential);
    form.dataset.passkeyBusy = "";
    form.submit();
  }

  function handleFailure(form, error) {
    delete form.dataset.passkeyBusy;
    if (error && error.serverMessage) {
      showError(form, error.serverMessage);
    } else {
      failure(form, error);
    }
  }

  function setUpCreate(form) {
    form.addEventListener("submit", function (event) {
      var name = form.querySelector("input[name=name]");
      if (form.querySelector("input[name=credential]").value || !name || !name.value.trim()) {
        return; // the server says what is missing
      }
      event.preventDefault();
      if (form.dataset.passkeyBusy === "1") {
        return;
      }
      form.dataset.passkeyBusy = "1";
      fetchOptions(form)
        .then(function (json) {
          return navigator.credentials.create({ publicKey: creationOptions(json) });
        })
        .then(function (credential) {
          submitWith(form, credential);
        })
        .catch(function (error) {
          handleFailure(form, error);
        });
    });
  }

  function setUpGet(form) {
    var pending = null;
    var button = form.querySelector("[data-passkey-start]");

    function ask(mediation) {
      if (pending) {
        pending.abort();
      }
      var controller = window.AbortController ? new AbortController() : null;
      pending = controller;
      return fetchOptions(form)
        .then(function (json) {
          var request = { publicKey: requestOptions(json) };
          if (mediation) {
            request.mediation = mediation;
          }
          if (controller) {
            request.signal = controller.signal;
          }
          return navigator.credentials.get(request);
        })
        .then(function (credential) {
          if (credential) {
            submitWith(form, credential);
          }
        })
        .catch(function (error) {
          if (mediation === "conditional") {
            return; // the autofill is an offer: its failures (or a busy server) say nothing
          }
          handleFailure(form, error);
        });
    }

    if (button) {
      button.addEventListener("click", function (event) {
        event.preventDefault();
        ask(null);
      });
    }
    // The browser's passkey autofill on the username field (conditional mediation).
    if (form.hasAttribute("data-passkey-autofill") && PublicKeyCredential.isConditionalMediationAvailable) {
      PublicKeyCredential.isConditionalMediationAvailable().then(function (available) {
        if (available) {
          ask("conditional");
        }
      });
    }
  }

  // A number-matching approval (approvals page): the tapped number goes with the passkey's
  // answer. The list is swapped in by approvals.js, so the listener is the document's. "Deny"
  // needs no passkey; a browser without `submitter` sends the number alone, as without WebAuthn.
  function setUpConfirm() {
    document.addEventListener("submit", function (event) {
      var form = event.target;
      var button = event.submitter;
      if (event.defaultPrevented || !form.matches || !form.matches("form[data-passkey-confirm]")) {
        return;
      }
      var credential = form.querySelector("input[name=credential]");
      if (!button || button.name !== "number" || !credential || credential.value) {
        return;
      }
      event.preventDefault();
      form.querySelector("input[name=confirmed_number]").value = button.value;
      fetchOptions(form)
        .then(function (json) {
          return navigator.credentials.get({ publicKey: requestOptions(json) });
        })
        .then(function (answer) {
          submitWith(form, answer);
        })
        .catch(function (error) {
          delete form.dataset.approvalSent; // approvals.js: the form may be sent again
          handleFailure(form, error);
        });
    });
  }

  document.addEventListener("DOMContentLoaded", function () {
    if (!supported()) {
      return; // the passkey parts stay hidden, the "cannot use passkeys" notes shown
    }
    document.querySelectorAll("[data-passkey-unsupported]").forEach(function (note) {
      note.hidden = true;
    });
    document.querySelectorAll("[data-passkey-create], [data-passkey-get], [data-passkey-only]").forEach(function (part) {
      part.hidden = false;
    });
    document.querySelectorAll("form[data-passkey-create]").forEach(setUpCreate);
    document.querySelectorAll("form[data-passkey-get]").forEach(setUpGet);
    setUpConfirm();
  });
})();
