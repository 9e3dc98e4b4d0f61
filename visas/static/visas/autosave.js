// Saves the visa application's draft as it is typed: after a pause, the step's fields go to
// the autosave address; the page says "Saved" with the mission's time or shows each field's
// message beside it. Without script the step's buttons do the same. (Passports' autosave.js.)
(function () {
  "use strict";
  var form = document.querySelector("form[data-autosave]");
  if (!form) { return; }
  var status = document.getElementById("autosave-status");
  var timer = null;
  function show(text) { if (status) { status.textContent = text; } }
  function messages(errors) {
    form.querySelectorAll("[data-field]").forEach(function (box) {
      var name = box.getAttribute("data-field");
      var slot = box.querySelector(".field-message");
      var text = errors[name] || "";
      if (slot) { slot.textContent = text; }
      box.classList.toggle("field-error", text !== "");
      var input = box.querySelector("input, select, textarea");
      if (input && slot) {
        // the message is read with the field, and the field's help stays described too
        var ids = (input.getAttribute("aria-describedby") || "").split(" ").filter(function (id) {
          return id && id !== slot.id;
        });
        if (text) { ids.unshift(slot.id); input.setAttribute("aria-invalid", "true"); }
        else { input.removeAttribute("aria-invalid"); }
        if (ids.length) { input.setAttribute("aria-describedby", ids.join(" ")); }
        else { input.removeAttribute("aria-describedby"); }
      }
    });
  }
  function save() {
    var data = new FormData(form);
    ["submit", "save", "back", "next"].forEach(function (name) { data.delete(name); });
    fetch(form.getAttribute("data-autosave"), {
      method: "POST", body: data, credentials: "same-origin",
      // JSON for a refusal made before the view too (a control character, a body too large)
      headers: { "X-Requested-With": "fetch", "Accept": "application/json" }
    }).then(function (response) {
      return response.json().then(function (body) {
        messages(body.errors || {});
        if (response.ok) {
          show(status.getAttribute("data-saved") + " " + body.saved_at_local);
        } else if (body.message && !Object.keys(body.errors || {}).length) {
          show(body.message);  // a refusal of the whole save, in the reader's language
        } else { show(status.getAttribute("data-failed")); }
      }, function () {
        // an answer that is not the autosave's (a server error): not a lost connection
        show(status.getAttribute("data-error"));
      });
    }).catch(function () { show(status.getAttribute("data-offline")); });
  }
  form.addEventListener("input", function () { clearTimeout(timer); timer = setTimeout(save, 800); });
  form.addEventListener("change", function () { clearTimeout(timer); timer = setTimeout(save, 200); });
})();
