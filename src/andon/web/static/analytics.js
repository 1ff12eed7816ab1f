// The dataset page's filter form (templates/analytics/dataset.html). The top-variants slider
// and its number field move together (the number is what is sent; the slider at its end
// means every variant), and a refused filter's answer (422) is swapped in so its message
// shows on the field. Without this file the number field alone works through a page load.
(function () {
  "use strict";
  document.documentElement.classList.add("an-js");

  // Capture: the number must be set before htmx, listening on the form, reads the values.
  document.addEventListener("input", function (event) {
    var target = event.target;
    var number = document.getElementById("filter-top");
    var range = document.getElementById("filter-top-range");
    if (!number || !range) {
      return;
    }
    if (target === range) {
      number.value = range.value === range.max ? "" : range.value;
    } else if (target === number) {
      range.value = number.value || range.max;
    }
  }, true);

  document.addEventListener("htmx:beforeSwap", function (event) {
    // htmx drops 4xx answers by default; this one carries the filter's message.
    if (event.detail.xhr.status === 422) {
      event.detail.shouldSwap = true;
      event.detail.isError = false;
    }
  });
})();
