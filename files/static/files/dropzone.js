// Drag and drop onto a [data-dropzone]: the dropped file goes into its file input, so the
// form (HTMX with its progress bar, or a plain post) uploads it like a chosen file.
(function () {
  "use strict";
  function zoneOf(event) { return event.target.closest && event.target.closest("[data-dropzone]"); }
  ["dragenter", "dragover"].forEach(function (name) {
    document.addEventListener(name, function (event) {
      var zone = zoneOf(event);
      if (!zone) return;
      event.preventDefault();
      zone.classList.add("dragover");
    });
  });
  document.addEventListener("dragleave", function (event) {
    var zone = zoneOf(event);
    if (zone) zone.classList.remove("dragover");
  });
  document.addEventListener("drop", function (event) {
    var zone = zoneOf(event);
    if (!zone) return;
    event.preventDefault();
    zone.classList.remove("dragover");
    var input = zone.querySelector("input[type=file]");
    if (!input || !event.dataTransfer.files.length) return;
    input.files = event.dataTransfer.files;
    var label = zone.querySelector("[data-dropzone-name]");
    if (label) label.textContent = event.dataTransfer.files[0].name;
  });
  document.addEventListener("change", function (event) {
    var input = event.target;
    if (!input.matches || !input.matches("[data-dropzone] input[type=file]")) return;
    var label = input.closest("[data-dropzone]").querySelector("[data-dropzone-name]");
    if (label && input.files.length) label.textContent = input.files[0].name;
  });
})();
