// A unit table's pages: "add another" rows for agreements, proposals and wrap-up points.
// Without script the pages offer a few empty rows; this only adds more.
(function () {
  "use strict";

  function addRow(kind) {
    var holder = document.querySelector('[data-rows="' + kind + '"]');
    var template = document.querySelector('template[data-row-template="' + kind + '"]');
    if (!holder || !template) { return; }
    var number = holder.querySelectorAll("[data-row]").length;
    var html = template.innerHTML.split("__N__").join(String(number));
    holder.insertAdjacentHTML("beforeend", html);
    var added = holder.lastElementChild;
    var shown = added && added.querySelector("[data-row-number]");
    if (shown) { shown.textContent = String(number + 1); }
    var input = added && added.querySelector("input[type=text], textarea");
    if (input) { input.focus(); }
  }

  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll("[data-add-row]").forEach(function (button) {
      button.hidden = false;
      button.addEventListener("click", function () { addRow(button.getAttribute("data-add-row")); });
    });
  });
})();
