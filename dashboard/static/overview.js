// Live overview: the server pushes the rendered rows (already escaped) whenever they change.
(function () {
  "use strict";
  var body = document.getElementById("overview-rows");
  if (!body || !window.EventSource) { return; }
  var source = new EventSource("/events/overview" + window.location.search);
  source.addEventListener("overview", function (event) {
    var data = JSON.parse(event.data);
    body.innerHTML = data.html;
    document.body.setAttribute("data-live-updates", String((Number(document.body.getAttribute("data-live-updates")) || 0) + 1));
  });
})();
