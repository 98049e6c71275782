/* Settings pages: the script editor's "Add a step" button. Without scripting the editor still
   works: the formset always ends with one empty step form, which adds a step when filled in. */
(function () {
  "use strict";

  document.addEventListener("DOMContentLoaded", function () {
    var button = document.querySelector("[data-add-step]");
    var container = document.getElementById("script-steps");
    var template = document.getElementById("script-step-template");
    if (!button || !container || !template) { return; }
    var prefix = container.getAttribute("data-formset-prefix");
    var total = document.getElementById("id_" + prefix + "-TOTAL_FORMS");
    if (!total) { return; }
    button.classList.remove("d-none");
    button.addEventListener("click", function () {
      var index = parseInt(total.value, 10) || 0;
      var html = template.innerHTML.replace(/__prefix__/g, String(index));
      var holder = document.createElement("div");
      holder.innerHTML = html;
      var step = holder.firstElementChild;
      container.appendChild(step);
      total.value = String(index + 1);
      var first = step.querySelector("input, textarea");
      if (first) { first.focus(); }
    });
  });
})();
