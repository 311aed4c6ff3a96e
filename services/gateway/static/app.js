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

    // S0-58…S0-61, S0-96: FullCalendar (from node_modules) over the period's
    // list. Without the widget (no JS, or its files missing) the toolbar
    // links and the list stay, and every action works as a plain page.
    // FullCalendar's deferred scripts come after this one: mount once they ran.
    var mounted = false;
    function mountAll() {
      if (mounted) return;
      mounted = true;
      document.querySelectorAll("[data-calendar]").forEach(mountCalendar);
    }
    if (document.readyState === "complete") mountAll();
    else {
      document.addEventListener("DOMContentLoaded", mountAll);
      window.addEventListener("load", mountAll);
    }

    // S0-66…S0-70: the series form shows weekdays, the interval and the end
    // only for the repetitions they belong to.
    document.querySelectorAll("form[data-series-form]").forEach(function (form) {
      var frequency = form.querySelector("[data-frequency]");
      if (!frequency) return;
      function update() {
        form.querySelectorAll("[data-show-for]").forEach(function (el) {
          el.hidden = el.getAttribute("data-show-for").split(" ").indexOf(frequency.value) < 0;
        });
      }
      frequency.addEventListener("change", update);
      update();
      // Typing a count or an end date chooses that end.
      [["count", "count"], ["until_date", "until"]].forEach(function (pair) {
        var input = form.elements[pair[0]];
        if (!input) return;
        input.addEventListener("input", function () {
          var radio = form.querySelector("input[name=end][value=" + pair[1] + "]");
          if (radio) radio.checked = true;
        });
      });
    });
  });

  var VIEWS = { month: "dayGridMonth", week: "timeGridWeek", day: "timeGridDay" };

  function mountCalendar(el) {
    if (!window.FullCalendar || !window.FullCalendar.Calendar) return;
    var d = el.dataset;
    var section = el.closest(".program") || el.parentNode;
    var filter = d.filter ? document.getElementById(d.filter) : null;
    var errorBox = el.nextElementSibling && el.nextElementSibling.classList.contains("calendar-error")
      ? el.nextElementSibling : null;

    function kinds() {
      if (!filter) return [];
      return Array.prototype.map.call(filter.querySelectorAll("input[name=kind]:checked"), function (i) {
        return i.value;
      });
    }

    function pad(n) { return (n < 10 ? "0" : "") + n; }

    // One entry: the marker (colour, shape, word for screen readers), the
    // time and the text — colour is never the only signal.
    function content(arg) {
      var p = arg.event.extendedProps;
      var marker = document.createElement("span");
      marker.className = "marker marker-" + (p.colour || "blue") + " status-" + (p.status || "planned");
      var icon = document.createElement("span");
      icon.className = "marker-icon";
      icon.setAttribute("aria-hidden", "true");
      icon.textContent = p.icon || "";
      var label = document.createElement("span");
      label.className = "sr-only";
      label.textContent = p.status_label || "";
      marker.appendChild(icon);
      marker.appendChild(label);
      var time = document.createElement("span");
      time.className = "event-time";
      time.textContent = arg.timeText || "";
      var title = document.createElement("span");
      title.className = "event-title";
      title.textContent = arg.event.title;
      return { domNodes: [marker, time, title] };
    }

    // A month grid is too small to read on a phone: its list shows the same period.
    var phone = window.matchMedia && window.matchMedia("(max-width: 700px)").matches;
    var initialView = VIEWS[d.view] || "dayGridMonth";
    if (phone && initialView === "dayGridMonth") initialView = "listMonth";

    var calendar = new window.FullCalendar.Calendar(el, {
      initialView: initialView,
      initialDate: d.date || undefined,
      locale: d.locale || "ru",
      firstDay: 1,
      height: "auto",
      nowIndicator: true,
      allDaySlot: false,
      dayMaxEvents: 4,
      scrollTime: "08:00:00",
      eventTimeFormat: { hour: "2-digit", minute: "2-digit", hour12: false },
      slotLabelFormat: { hour: "2-digit", minute: "2-digit", hour12: false },
      headerToolbar: {
        start: "prev,today,next",
        center: "title",
        end: "dayGridMonth,timeGridWeek,timeGridDay,listMonth"
      },
      prevText: d.labelPrev,
      nextText: d.labelNext,
      todayText: d.labelToday,
      monthText: d.labelMonth,
      weekTextLong: d.labelWeek,
      dayText: d.labelDay,
      listText: d.labelList,
      // «Назад» / «Вперед» as words beside the arrows (S0-61).
      buttons: { prev: { display: "icon-text" }, next: { display: "text-icon" } },
      // Tinted blocks in the status colour, with the marker's shape inside.
      eventDisplay: "block",
      events: function (info, success, failure) {
        var url = new URL(d.events, window.location.href);
        url.searchParams.set("start", info.startStr);
        url.searchParams.set("end", info.endStr);
        kinds().forEach(function (k) { url.searchParams.append("kind", k); });
        fetch(url.toString(), { credentials: "same-origin", headers: { Accept: "application/json" } })
          .then(function (r) {
            if (!r.ok || (r.headers.get("content-type") || "").indexOf("json") < 0) throw new Error(String(r.status));
            return r.json();
          })
          .then(function (events) {
            if (errorBox) errorBox.hidden = true;
            success(events);
          })
          .catch(function (e) {
            if (errorBox) {
              errorBox.textContent = d.labelFailed || "";
              errorBox.hidden = false;
            }
            failure(e);
          });
      },
      eventContent: content,
      eventDidMount: function (arg) {
        var p = arg.event.extendedProps;
        arg.el.title = [p.status_label, p.kind_label, p.citizen, p.description].filter(Boolean).join(" · ");
        arg.el.classList.add("event-" + (p.colour || "blue"));
      },
      // S0-59: a click on a free place opens «Создать задание» at that slot.
      dateClick: d["new"] ? function (info) {
        var day = info.dateStr.slice(0, 10);
        var url = d["new"] + "?date=" + day;
        if (!info.allDay && info.date) url += "&time=" + pad(info.date.getHours()) + ":" + pad(info.date.getMinutes());
        window.location.href = url;
      } : undefined,
      // Keep the address in step, so a reload or «назад» returns here.
      datesSet: function (info) {
        var view = { dayGridMonth: "month", listMonth: "month", timeGridWeek: "week", timeGridDay: "day" }[info.view.type];
        var date = calendar ? calendar.getDate() : null;
        if (!view || !date) return;
        var iso = date.getFullYear() + "-" + pad(date.getMonth() + 1) + "-" + pad(date.getDate());
        var url = new URL(window.location.href);
        url.searchParams.set("view", view);
        url.searchParams.set("date", iso);
        url.searchParams.delete("notice");
        window.history.replaceState(null, "", url.toString());
        if (filter) {
          if (filter.elements.view) filter.elements.view.value = view;
          if (filter.elements.date) filter.elements.date.value = iso;
        }
      }
    });
    el.hidden = false;
    calendar.render();
    section.classList.add("calendar-on");
    if (filter) {
      filter.addEventListener("change", function () { calendar.refetchEvents(); });
    }
  }
})();

// S1-31: in an appeal's «Комментарий» Enter posts the comment and Shift+Enter
// starts a new line (without this file the button posts it).
(function () {
  "use strict";
  document.addEventListener("keydown", function (e) {
    var el = e.target;
    if (e.key !== "Enter" || e.shiftKey || e.ctrlKey || e.altKey || e.metaKey || e.isComposing) return;
    if (!el || !el.matches || !el.matches("textarea[data-enter-submit]")) return;
    e.preventDefault();
    if (el.value.trim() === "" || !el.form) return;
    if (el.form.requestSubmit) el.form.requestSubmit();
    else el.form.submit();
  });
})();

// S2-30: «Печать» on the referral form's print page (without JS the browser's own print works).
(function () {
  "use strict";
  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll("[data-print]").forEach(function (b) {
      b.hidden = false;
      b.addEventListener("click", function () { window.print(); });
    });
  });
})();
