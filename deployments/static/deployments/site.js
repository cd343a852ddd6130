// The binding form shows the settings of the chosen function only. Without JavaScript every
// function's settings stay visible and the server ignores the ones that do not apply.
(function () {
  "use strict";
  function sync(root) {
    var select = (root || document).querySelector("#binding-function");
    if (!select) return;
    document.querySelectorAll(".function-config[data-function]").forEach(function (fieldset) {
      fieldset.hidden = fieldset.getAttribute("data-function") !== select.value;
    });
    var hint = document.getElementById("binding-function-hint");
    if (hint) hint.hidden = true;
  }
  document.addEventListener("change", function (event) {
    if (event.target && event.target.id === "binding-function") sync();
  });
  document.addEventListener("DOMContentLoaded", function () { sync(); });
  document.addEventListener("htmx:afterSwap", function () { sync(); });
})();
