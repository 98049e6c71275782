/* Reactivation CRM: small behaviours shared by every page. No inline scripts anywhere: pages
   declare what they need with data- attributes and this file wires them up. */
(function () {
  "use strict";

  // <form data-confirm="Are you sure?">: ask before a destructive submit.
  document.addEventListener("submit", function (event) {
    var form = event.target;
    var message = form.getAttribute && form.getAttribute("data-confirm");
    if (message && !window.confirm(message)) {
      event.preventDefault();
      event.stopImmediatePropagation();
    }
  }, true);
  document.addEventListener("htmx:confirm", function (event) {
    var source = event.detail.elt;
    var message = source && source.getAttribute("data-confirm");
    if (message && source.tagName !== "FORM" && !window.confirm(message)) {
      event.preventDefault();
    }
  });

  // <button data-copy="TEXT">: copy to the clipboard and say so.
  document.addEventListener("click", function (event) {
    var button = event.target.closest("[data-copy]");
    if (!button) { return; }
    var text = button.getAttribute("data-copy");
    var done = function () {
      var original = button.getAttribute("data-copied-label");
      if (original) {
        var previous = button.textContent;
        button.textContent = original;
        window.setTimeout(function () { button.textContent = previous; }, 1500);
      }
    };
    if (navigator.clipboard && window.isSecureContext) {
      navigator.clipboard.writeText(text).then(done);
    } else {
      var area = document.createElement("textarea");
      area.value = text;
      document.body.appendChild(area);
      area.select();
      document.execCommand("copy");
      area.remove();
      done();
    }
  });

  // <select data-autosubmit>: submit the surrounding form when the value changes (the form's
  // own hx-get makes that a partial update where scripting is on).
  document.addEventListener("change", function (event) {
    var field = event.target;
    if (field.hasAttribute && field.hasAttribute("data-autosubmit") && field.form) {
      if (field.form.requestSubmit) { field.form.requestSubmit(); } else { field.form.submit(); }
    }
  });

  // Elements with data-hotkey="n": press the key (outside text fields) to click them.
  document.addEventListener("keydown", function (event) {
    if (event.ctrlKey || event.metaKey || event.altKey) { return; }
    var tag = (event.target.tagName || "").toLowerCase();
    if (tag === "input" || tag === "textarea" || tag === "select" || event.target.isContentEditable) { return; }
    var target = document.querySelector('[data-hotkey="' + CSS.escape(event.key) + '"]');
    if (target) {
      event.preventDefault();
      if (target.matches("input, select, textarea")) { target.focus(); } else { target.click(); }
    }
  });

  // A failed htmx request must not fail silently.
  document.addEventListener("htmx:responseError", function (event) {
    var box = document.getElementById("htmx-error");
    if (!box) {
      box = document.createElement("div");
      box.id = "htmx-error";
      box.className = "alert alert-danger app-toast";
      box.setAttribute("role", "alert");
      document.body.appendChild(box);
    }
    box.textContent = document.body.getAttribute("data-error-text") + " (" + event.detail.xhr.status + ")";
    window.setTimeout(function () { box.remove(); }, 6000);
  });

  // <div data-poll-progress>: progress bars whose width comes from data-value (no inline style).
  function paintProgress(root) {
    (root || document).querySelectorAll(".progress-bar[data-value]").forEach(function (bar) {
      bar.style.width = Math.max(0, Math.min(100, parseFloat(bar.getAttribute("data-value")) || 0)) + "%";
    });
  }
  document.addEventListener("DOMContentLoaded", function () { paintProgress(document); });
  document.addEventListener("htmx:afterSwap", function (event) { paintProgress(event.detail.target); });
})();
