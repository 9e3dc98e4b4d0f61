// Saves the draft as the citizen types: after a pause, the form's fields go to the autosave
// address; the page says "Saved" or shows each field's message beside it. Without script the
// "Save" button does the same.
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
  // The "still needed" list follows what the server says is missing now.
  function missingUpdate(missing, errors) {
    var box = document.getElementById("missing");
    if (!box || !missing) { return; }
    var left = 0;
    box.querySelectorAll("[data-missing]").forEach(function (item) {
      var name = item.getAttribute("data-missing");
      // a value typed but refused says why, not "this is needed"
      var text = (errors && errors[name]) || missing[name];
      item.hidden = !text;
      if (text) {
        left += 1;
        var slot = item.querySelector(".missing-message");
        if (slot) { slot.textContent = text; }
      }
    });
    box.hidden = left === 0;
  }
  function save() {
    var data = new FormData(form);
    data.delete("submit");
    fetch(form.getAttribute("data-autosave"), {
      method: "POST", body: data, credentials: "same-origin",
      // JSON for a refusal made before the view too (a control character, a body too large)
      headers: { "X-Requested-With": "fetch", "Accept": "application/json" }
    }).then(function (response) {
      return response.json().then(function (body) {
        messages(body.errors || {});
        missingUpdate(body.missing, body.errors);
        if (response.ok) {
          show(status.getAttribute("data-saved") + " " + body.saved_at_local);
        } else if (body.message && !Object.keys(body.errors || {}).length) {
          show(body.message);  // a refusal of the whole save, in the reader's language
        } else { show(status.getAttribute("data-failed")); }
      });
    }).catch(function () { show(status.getAttribute("data-offline")); });
  }
  form.addEventListener("input", function () { clearTimeout(timer); timer = setTimeout(save, 800); });
  form.addEventListener("change", function () { clearTimeout(timer); timer = setTimeout(save, 200); });
})();
