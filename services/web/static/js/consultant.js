// The consultancy's pages, a little handier with a script; every action works without it.
(function () {
  "use strict";

  // The join-code sheet: a button for the browser's print dialogue.
  function printButtons() {
    document.querySelectorAll("[data-print]").forEach(function (button) {
      button.hidden = false;
      button.addEventListener("click", function () { window.print(); });
    });
  }

  // The schedule: drag a dialogue onto another round. Dropping picks that round in the
  // dialogue's own "Move" form and sends it, so the server decides exactly as without a script.
  function dragToRound() {
    var rounds = document.querySelectorAll("[data-round]");
    if (!rounds.length) { return; }
    document.querySelectorAll("[data-drag-hint]").forEach(function (hint) { hint.hidden = false; });
    document.querySelectorAll("li[data-card]").forEach(function (item) {
      item.setAttribute("draggable", "true");
      item.addEventListener("dragstart", function (event) {
        event.dataTransfer.setData("text/plain", item.getAttribute("data-card"));
        event.dataTransfer.effectAllowed = "move";
      });
    });
    rounds.forEach(function (round) {
      round.addEventListener("dragover", function (event) {
        event.preventDefault();
        round.classList.add("drop-target");
      });
      round.addEventListener("dragleave", function () { round.classList.remove("drop-target"); });
      round.addEventListener("drop", function (event) {
        event.preventDefault();
        round.classList.remove("drop-target");
        var card = event.dataTransfer.getData("text/plain");
        var form = document.querySelector('form[data-move="' + card + '"]');
        if (!form) { return; }
        form.querySelector("select[name=round]").value = round.getAttribute("data-round");
        form.submit();
      });
    });
  }

  document.addEventListener("DOMContentLoaded", function () {
    printButtons();
    dragToRound();
  });
})();
