// Saves a draft as it is typed (the passport application, each step of the visa application):
// after a pause, the fields of `form[data-autosave]` go to that address; `#autosave-status`
// says "Saved" with the mission's time or why not, and each field's message shows beside it
// (and, where a send was refused, in the page's error summary until it is put right).
// Without script the form's buttons do the same.
//
// What a page says is read from its markup, never from page-specific code here:
// - on the form: `data-autosave` (the address) and, optionally, `data-autosave-missing` (the
//   id of a "still needed" list whose `[data-missing=<field>]` lines follow the server's
//   `missing`, each with a `.missing-message`);
// - on `#autosave-status`: `data-saved`, `data-failed` (refused fields), `data-offline` (no
//   answer) and `data-error` (an answer that is not the autosave's: a server error);
// - `[data-autosave-notice]` elements (live regions): the server's `notices` maps such an
//   element's id to its content as the page would render it now ("" for none).
(function () {
  "use strict";
  var form = document.querySelector("form[data-autosave]");
  if (!form) { return; }
  var status = document.getElementById("autosave-status");
  var timer = null;
  function said(key) { return (status && status.getAttribute(key)) || ""; }
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
  // The "still needed" list, where the form names one, follows what the server says is
  // missing now.
  function missingUpdate(missing, errors) {
    var id = form.getAttribute("data-autosave-missing");
    var box = id && document.getElementById(id);
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
  // The page's error summary (`#error-summary`, from a send the server refused), where there
  // is one, keeps only what still stands: a field's line goes once the field is saved and no
  // longer refused nor still needed, as its message beside it does.
  function summaryUpdate(errors, missing) {
    var summary = document.getElementById("error-summary");
    if (!summary) { return; }
    var left = 0;
    summary.querySelectorAll("li").forEach(function (item) {
      var link = item.querySelector("a[href^='#']");
      var field = link ? document.getElementById(link.getAttribute("href").slice(1)) : null;
      if (field && field.name && field.form === form) {
        item.hidden = !(errors[field.name] || (missing ? missing[field.name] : !field.value));
      }
      if (!item.hidden) { left += 1; }
    });
    summary.hidden = left === 0;
  }
  // Notices the server words from what is saved (the visa's arrival too soon), in place; only
  // a changed text is put in, so that a screen reader is not told the same again each save.
  function words(node) { return node.textContent.replace(/\s+/g, " ").trim(); }
  function noticesUpdate(notices) {
    Object.keys(notices || {}).forEach(function (id) {
      var box = document.getElementById(id);
      if (!box || !box.hasAttribute("data-autosave-notice")) { return; }
      var fresh = document.createElement("template");  // parsed inert, only to compare
      fresh.innerHTML = notices[id];
      if (words(fresh.content) !== words(box)) { box.innerHTML = notices[id]; }
    });
  }
  function save() {
    var data = new FormData(form);
    // a button's name asks the server to submit or to change step: an autosave only saves
    form.querySelectorAll("button[name], input[type=submit][name]").forEach(function (button) {
      data.delete(button.name);
    });
    fetch(form.getAttribute("data-autosave"), {
      method: "POST", body: data, credentials: "same-origin",
      // JSON for a refusal made before the view too (a control character, a body too large)
      headers: { "X-Requested-With": "fetch", "Accept": "application/json" }
    }).then(function (response) {
      return response.json().then(function (body) {
        messages(body.errors || {});
        missingUpdate(body.missing, body.errors);
        summaryUpdate(body.errors || {}, body.missing);
        noticesUpdate(body.notices);
        if (response.ok) {
          show(said("data-saved") + " " + body.saved_at_local);
        } else if (body.message && !Object.keys(body.errors || {}).length) {
          show(body.message);  // a refusal of the whole save, in the reader's language
        } else { show(said("data-failed")); }
      }, function () {
        // an answer that is not the autosave's (a server error): not a lost connection
        show(said("data-error"));
      });
    }).catch(function () { show(said("data-offline")); });
  }
  form.addEventListener("input", function () { clearTimeout(timer); timer = setTimeout(save, 800); });
  form.addEventListener("change", function () { clearTimeout(timer); timer = setTimeout(save, 200); });
})();
