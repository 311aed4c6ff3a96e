// Progressive enhancement for Opeka's pages. Every page works without this
// file (plain links and form posts, the server checks everything again).
(function () {
  "use strict";
  document.documentElement.classList.add("js");

  function ready(fn) {
    if (document.readyState !== "loading") fn();
    else document.addEventListener("DOMContentLoaded", fn);
  }

  ready(function () {
    // The menu toggle for narrow screens (one column under ~700 px).
    var toggle = document.querySelector(".menu-toggle");
    var menu = document.getElementById("menu");
    if (toggle && menu) {
      toggle.hidden = false;
      toggle.addEventListener("click", function () {
        var open = menu.classList.toggle("open");
        toggle.setAttribute("aria-expanded", open ? "true" : "false");
      });
      document.addEventListener("keydown", function (e) {
        if (e.key === "Escape" && menu.classList.contains("open")) {
          menu.classList.remove("open");
          toggle.setAttribute("aria-expanded", "false");
          toggle.focus();
        }
      });
    }

    // S0-20: «Сохранить» stays disabled until the required fields are filled.
    document.querySelectorAll("form[data-require]").forEach(function (form) {
      var names = form.getAttribute("data-require").split(" ");
      var buttons = form.querySelectorAll("button[type=submit]");
      var hint = form.querySelector(".require-hint");
      function update() {
        var filled = names.every(function (n) {
          var el = form.elements[n];
          return el && el.value.trim() !== "";
        });
        buttons.forEach(function (b) { b.disabled = !filled; });
        if (hint) hint.hidden = filled;
      }
      form.addEventListener("input", update);
      update();
    });

    // S0-21: the password and its repeat must match before the form is sent.
    document.querySelectorAll("form[data-match]").forEach(function (form) {
      var pair = form.getAttribute("data-match").split(" ");
      var first = form.elements[pair[0]];
      var second = form.elements[pair[1]];
      if (!first || !second) return;
      var message = form.getAttribute("data-mismatch") || "";
      function check() {
        second.setCustomValidity(first.value === second.value ? "" : message);
      }
      first.addEventListener("input", check);
      second.addEventListener("input", check);
      check();
    });
    // S0-116: the list shows how many citizens are ticked for a transfer
    // (delegated, so it keeps working after htmx swaps the list).
    document.addEventListener("change", function (e) {
      var form = e.target.closest ? e.target.closest("form[data-count-checked]") : null;
      if (!form) return;
      var name = form.getAttribute("data-count-checked");
      var out = form.querySelector(".selected-count");
      if (out) out.textContent = String(form.querySelectorAll("input[name='" + name + "']:checked").length);
    });
  });
})();
