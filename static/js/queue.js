/* The case page: the call script walks step by step, and a call can be worked from the
   keyboard. Without scripting every step stays visible and the forms post as usual. */
(function () {
  "use strict";

  function steps(root) {
    return Array.prototype.slice.call(root.querySelectorAll(".script-step"));
  }

  // Show the steps on the path the chosen answers lead along, and the next one to answer.
  function walk(root, focusNext) {
    var list = root.querySelector("[data-script]");
    if (!list) { return; }
    var all = steps(list);
    if (!all.length) { return; }
    var byKey = {};
    all.forEach(function (step) { byKey[step.getAttribute("data-step")] = step; });
    var visible = [];
    var step = all[0];
    while (step && visible.indexOf(step) === -1) {
      visible.push(step);
      var checked = step.querySelector("input[type=radio]:checked");
      if (!checked) { break; }
      var next = checked.getAttribute("data-next");
      if (!next) { step = null; break; }
      step = byKey[next] || null;
    }
    all.forEach(function (item) {
      var shown = visible.indexOf(item) !== -1;
      item.classList.toggle("d-none", !shown);
      item.classList.toggle("script-step-current", shown && item === visible[visible.length - 1]);
      item.querySelectorAll("input").forEach(function (input) { input.disabled = !shown; });
    });
    if (focusNext) {
      var current = visible[visible.length - 1];
      var pick = current && (current.querySelector("input[type=radio]:checked") || current.querySelector("input[type=radio]"));
      if (pick) { pick.focus(); }
    }
  }

  function init(root) { walk(root || document, false); }

  // An answer that names a reason (data-reason: the reason's id) fills the reason field, so
  // the manager does not enter it twice; the field can still be changed by hand.
  function fillReason(input) {
    var reason = input.getAttribute("data-reason");
    var field = document.getElementById("id_reason");
    if (!reason || !field || !field.querySelector('option[value="' + CSS.escape(reason) + '"]')) { return; }
    field.value = reason;
  }

  document.addEventListener("DOMContentLoaded", function () { init(document); });
  document.addEventListener("htmx:afterSwap", function (event) {
    var target = event.detail && event.detail.target;
    if (!target || !target.querySelector) { return; }
    init(target);
    var notice = target.querySelector(".case-notice");
    var title = target.querySelector("#case-title");
    var focus = notice || title;
    if (focus) { focus.setAttribute("tabindex", "-1"); focus.focus(); }
  });

  document.addEventListener("change", function (event) {
    var input = event.target;
    if (input.matches && input.matches(".script-step input[type=radio]")) {
      // Reveal the step the answer leads to; Tab then moves on to it (document order).
      walk(document, false);
      fillReason(input);
    }
    if (input.matches && input.matches("[data-script-switch]")) {
      var url = input.getAttribute("data-url") + "?script=" + encodeURIComponent(input.value);
      if (window.htmx) {
        window.htmx.ajax("GET", url, { target: "#case-workspace", swap: "innerHTML" });
      } else {
        window.location.href = url;
      }
    }
  });

  document.addEventListener("keydown", function (event) {
    var target = event.target;
    var form = document.getElementById("call-form");
    // Ctrl+Enter (or Cmd+Enter) anywhere in the call form: save and go to the next case.
    if (form && event.key === "Enter" && (event.ctrlKey || event.metaKey) && form.contains(target)) {
      event.preventDefault();
      var next = form.querySelector("[data-save-next]");
      if (next) { next.click(); }
      return;
    }
    // Esc leaves a text field so the one-key shortcuts work again.
    if (event.key === "Escape" && target.matches && target.matches("input, select, textarea")) {
      target.blur();
      return;
    }
    // "a": jump to the script's current step.
    if (event.key === "a" && !event.ctrlKey && !event.metaKey && !event.altKey &&
        !(target.matches && target.matches("input:not([type=radio]):not([type=checkbox]), select, textarea"))) {
      if (document.querySelector("[data-script]")) {
        event.preventDefault();
        walk(document, true);
        return;
      }
    }
    // On a radio button (a script answer or an outcome) the page's one-key shortcuts still
    // work: the base layout ignores keys typed into form fields, radios included.
    if (!event.ctrlKey && !event.metaKey && !event.altKey && target.matches &&
        target.matches("input[type=radio], input[type=checkbox]") && event.key.length === 1) {
      var hot = document.querySelector('[data-hotkey="' + CSS.escape(event.key) + '"]');
      if (hot) {
        event.preventDefault();
        if (hot.matches("input, select, textarea")) {
          hot.focus();
        } else {
          hot.click();
          var input = hot.getAttribute("for") && document.getElementById(hot.getAttribute("for"));
          if (input) { input.focus(); }
        }
      }
    }
  });
})();
