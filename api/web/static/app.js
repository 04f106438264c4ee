// Moisson: small progressive enhancements. Every page works without this file.
(function () {
  "use strict";
  // Changing the sort order submits the search form at once.
  document.querySelectorAll("select[data-autosubmit]").forEach(function (sel) {
    sel.addEventListener("change", function () {
      if (sel.form) { sel.form.submit(); }
    });
  });
  // "/" focuses the search box, as on many search sites.
  document.addEventListener("keydown", function (e) {
    var q = document.getElementById("q");
    if (!q || e.key !== "/" || e.ctrlKey || e.metaKey || e.altKey) { return; }
    var t = e.target && e.target.tagName;
    if (t === "INPUT" || t === "TEXTAREA" || t === "SELECT") { return; }
    e.preventDefault();
    q.focus();
  });
})();
