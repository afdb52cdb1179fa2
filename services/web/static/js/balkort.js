// Balkort's own script: small, optional. Pages work without it; it adds live updates and niceties.
(function () {
  "use strict";

  // A join code arrives in the address's fragment from a table's QR code (/join#ABCD-EFGH):
  // it never reaches the server's logs; fill it in for the participant.
  function fillJoinCode() {
    var input = document.querySelector("input[data-join-code]");
    if (input && !input.value && window.location.hash.length > 1) {
      input.value = decodeURIComponent(window.location.hash.slice(1));
    }
  }

  // Live parts: an element with data-live-source="<SSE url>" listens to the engagement's event
  // stream; each message fires `balkort:changed` on the body, and elements with
  // hx-trigger="balkort:changed from:body" fetch their fragment again.
  function followLive() {
    var holder = document.querySelector("[data-live-source]");
    if (!holder || !window.EventSource) { return; }
    var status = document.querySelector("[data-live-status]");
    var source = new EventSource(holder.getAttribute("data-live-source"), { withCredentials: true });
    function say(text) { if (status) { status.textContent = text; } }
    function changed() {
      if (window.htmx) { window.htmx.trigger(document.body, "balkort:changed"); }
    }
    source.addEventListener("open", function () { say(holder.getAttribute("data-live-on") || "live"); });
    source.addEventListener("error", function () { say(holder.getAttribute("data-live-off") || "…"); });
    source.addEventListener("snapshot", changed);
    source.addEventListener("changed", changed);
  }

  // An error page's "Go back" (hidden without a script, where the front page link remains):
  // a handler here rather than a javascript: address, which the content security policy blocks.
  function offerGoingBack() {
    if (window.history.length < 2) { return; }
    document.querySelectorAll("[data-go-back]").forEach(function (element) {
      element.hidden = false;
      element.addEventListener("click", function (event) {
        event.preventDefault();
        window.history.back();
      });
    });
  }

  document.addEventListener("DOMContentLoaded", function () {
    fillJoinCode();
    followLive();
    offerGoingBack();
  });
})();
