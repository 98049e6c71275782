/* The case page's phone calls: "Fill the call form" puts the phone system's result and
   duration into the call form, where the manager adds the reason and the script's answers.
   Without scripting the button does nothing and the form is filled by hand. */
(function () {
  "use strict";
  if (window.telephonyFillReady) { return; }
  window.telephonyFillReady = true;

  document.addEventListener("click", function (event) {
    var button = event.target.closest ? event.target.closest("[data-phone-fill]") : null;
    if (!button) { return; }
    event.preventDefault();
    var form = document.getElementById("call-form");
    if (!form) { return; }
    var value = button.getAttribute("data-outcome");
    var outcome = form.querySelector('input[name="outcome"][value="' + value + '"]');
    if (outcome) {
      outcome.checked = true;
      outcome.dispatchEvent(new Event("change", { bubbles: true }));
    }
    var notes = form.querySelector('textarea[name="notes"]');
    var line = button.getAttribute("data-note");
    if (notes && line && notes.value.indexOf(line) === -1) {
      notes.value = notes.value ? line + "\n" + notes.value : line;
    }
    form.scrollIntoView({ block: "start" });
    if (outcome) { outcome.focus(); }
  });
})();
