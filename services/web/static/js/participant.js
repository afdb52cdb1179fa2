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

// The card form: "refer to our rating" is offered only for a unit this table has rated.
(function () {
  "use strict";
  document.addEventListener("DOMContentLoaded", function () {
    var holder = document.getElementById("refer-rating");
    var unit = document.getElementById("f-to_unit");
    if (!holder || !unit) { return; }
    var rated = (holder.getAttribute("data-rated") || "").split(" ");
    var box = document.getElementById("refer_to_rating");
    function follow() {
      var known = rated.indexOf(unit.value) !== -1;
      holder.hidden = !known;
      if (!known && box) { box.checked = false; }
    }
    unit.addEventListener("change", function () {
      follow();
      if (box && rated.indexOf(unit.value) !== -1) { box.checked = true; }
    });
    if (!holder.classList.contains("has-error")) { follow(); }
  });
})();
