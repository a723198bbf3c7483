// The nurse's screens: "tick every row" on the exceptions list. Everything works without
// it (tick rows one by one); htmx swaps the list, so the listener is delegated.
(function () {
  "use strict";
  document.addEventListener("change", function (event) {
    var box = event.target;
    if (!(box instanceof HTMLInputElement) || !box.hasAttribute("data-check-all")) {
      return;
    }
    var form = box.closest("form");
    if (!form) {
      return;
    }
    form.querySelectorAll('input[type="checkbox"][name="keys"]').forEach(function (row) {
      row.checked = box.checked;
    });
  });
})();
