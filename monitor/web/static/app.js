// heishi review: keyboard moves, ticking alerts for bulk actions, and small conveniences.
// Loaded from this server only; the page's Content-Security-Policy allows no inline script.
(function () {
  "use strict";

  function typing(target) {
    var tag = target && target.tagName;
    return tag === "INPUT" || tag === "TEXTAREA" || tag === "SELECT" || (target && target.isContentEditable);
  }

  // --- the queue --------------------------------------------------------------------------
  function setUpQueue() {
    var table = document.getElementById("queue");
    if (!table) return;
    // On a phone the filters fold away unless some are set, so the rows come first.
    var filterBox = document.getElementById("filter-box");
    if (filterBox && window.matchMedia("(max-width: 600px)").matches &&
        filterBox.getAttribute("data-active") === "0") filterBox.open = false;
    var rows = Array.prototype.slice.call(table.querySelectorAll("tbody tr[data-href]"));
    var current = -1;

    function focusRow(index) {
      if (!rows.length) return;
      index = Math.max(0, Math.min(rows.length - 1, index));
      if (current >= 0 && rows[current]) rows[current].classList.remove("current");
      current = index;
      rows[current].classList.add("current");
      rows[current].scrollIntoView({ block: "nearest" });
    }

    rows.forEach(function (row, index) {
      row.addEventListener("click", function (event) {
        var target = event.target;
        if (target.closest("a, input, button, select, label")) return;
        if (target.closest("td.tick")) {
          var box = row.querySelector("input[type=checkbox]");
          if (box) { box.checked = !box.checked; updateBulk(); }
          return;
        }
        if (window.getSelection && String(window.getSelection()).length) return;
        window.location.href = row.getAttribute("data-href");
      });
      row.addEventListener("mouseenter", function () { focusRow(index); });
    });

    var bulk = document.getElementById("bulk");
    var count = document.getElementById("bulk-count");
    var apply = document.getElementById("bulk-apply");
    var action = document.getElementById("bulk-action");
    var tickAll = document.getElementById("tick-all");
    var boxes = Array.prototype.slice.call(table.querySelectorAll("input[name=ids]"));

    function updateBulk() {
      if (!bulk) return;
      var ticked = boxes.filter(function (b) { return b.checked; });
      count.textContent = (count.getAttribute("data-ticked") || "{n}").replace("{n}", ticked.length);
      apply.disabled = ticked.length === 0;
      bulk.classList.toggle("has-ticks", ticked.length > 0);
      boxes.forEach(function (b) { b.closest("tr").classList.toggle("ticked", b.checked); });
      if (tickAll) tickAll.checked = ticked.length > 0 && ticked.length === boxes.length;
    }
    function updateAction() {
      if (!bulk) return;
      bulk.classList.toggle("dismissing", action.value === "dismiss");
      bulk.classList.toggle("assigning", action.value === "assign");
    }
    boxes.forEach(function (b) { b.addEventListener("change", updateBulk); });
    if (tickAll) tickAll.addEventListener("change", function () {
      boxes.forEach(function (b) { b.checked = tickAll.checked; });
      updateBulk();
    });
    if (action) { action.addEventListener("change", updateAction); updateAction(); }
    if (bulk) bulk.addEventListener("submit", function (event) {
      var reason = document.getElementById("bulk-reason");
      if (action.value === "dismiss" && !reason.value) {
        event.preventDefault();
        reason.focus();
      }
    });
    updateBulk();

    document.addEventListener("keydown", function (event) {
      if (event.ctrlKey || event.metaKey || event.altKey || typing(event.target)) return;
      if (event.key === "j") { focusRow(current + 1); event.preventDefault(); }
      else if (event.key === "k") { focusRow(current - 1); event.preventDefault(); }
      else if ((event.key === "o" || event.key === "Enter") && rows.length) {
        window.location.href = rows[Math.max(current, 0)].getAttribute("data-href");
      } else if (event.key === "x" && current >= 0) {
        var box = rows[current].querySelector("input[type=checkbox]");
        if (box) { box.checked = !box.checked; updateBulk(); }
      } else if (event.key === "/") {
        var search = document.getElementById("search");
        if (search) { search.focus(); search.select(); event.preventDefault(); }
      }
    });
  }

  // --- one alert --------------------------------------------------------------------------
  // A triage key arms its action (the button lights up and a line says what happens next);
  // the same key again, or Enter, submits it. Dismissing takes d then a reason's number, or a
  // number alone then the same number again: two keys for any decision.
  function setUpAlert() {
    var form = document.getElementById("triage-form");
    var dismiss = document.getElementById("dismiss");
    var reason = document.getElementById("dismiss-reason");
    var hint = document.getElementById("armed-hint");
    var armed = null;  // {key, button}
    var sent = false;

    if (dismiss && reason) {
      dismiss.addEventListener("click", function (event) {
        if (!reason.value) {
          event.preventDefault();
          reason.parentElement.classList.add("needs-reason");
          reason.focus();
        }
      });
      reason.addEventListener("change", function () {
        reason.parentElement.classList.remove("needs-reason");
      });
    }
    if (form) form.addEventListener("submit", function (event) {
      if (sent) { event.preventDefault(); return; }
      sent = true;
    });

    function reasonOptions() {
      return reason ? Array.prototype.filter.call(reason.options, function (o) { return o.value; }) : [];
    }
    function disarm() {
      if (armed) armed.button.classList.remove("armed");
      armed = null;
      if (hint) { hint.hidden = true; hint.textContent = ""; }
    }
    function arm(button, key) {
      disarm();
      armed = { key: key, button: button };
      button.classList.add("armed");
      if (!hint) return;
      if (button === dismiss) {
        var options = reasonOptions();
        if (!reason.value && options.length) reason.value = options[0].value;
        var chosen = reason.options[reason.selectedIndex];
        hint.textContent = hint.getAttribute("data-dismiss")
          .replace("{numbers}", "1–" + options.length)
          .replace("{reason}", chosen ? chosen.textContent.replace(/^\d+ · /, "") : "");
      } else {
        hint.textContent = hint.getAttribute("data-again")
          .replace("{key}", key)
          .replace("{action}", button.textContent.replace(/\s*\S$/, "").trim().toLowerCase());
      }
      hint.hidden = false;
    }
    function submit(button) {
      if (sent) return;
      disarm();
      if (button.hasAttribute("data-assign-me")) {
        var who = button.form.querySelector("select[name=assignee]");
        if (who) who.value = "me";
      }
      if (button.form !== form) sent = true;  // the triage form counts its own submit
      button.form.requestSubmit(button);
    }

    document.addEventListener("keydown", function (event) {
      if ((event.ctrlKey || event.metaKey) && event.key === "Enter" && event.target.tagName === "TEXTAREA" &&
          event.target.form && event.target.closest("#triage")) {
        if (event.target.id === "triage-note") return;  // a decision still needs its key
        event.preventDefault();
        event.target.form.requestSubmit();
        return;
      }
      if (event.ctrlKey || event.metaKey || event.altKey || typing(event.target)) return;
      var key = event.key;
      var again = armed && (key === armed.key || key === "Enter" || (armed.button === dismiss && key === "d"));
      if (form && again) {
        submit(armed.button); event.preventDefault(); return;
      }
      if (form && armed && key === "Escape") { disarm(); event.preventDefault(); return; }
      var button = form && document.querySelector('#triage [data-arm="' + CSS.escape(key) + '"]');
      if (button) { arm(button, key); event.preventDefault(); return; }
      if (form && dismiss && reason && /^[1-9]$/.test(key)) {
        var option = reasonOptions()[Number(key) - 1];
        if (!option) return;
        var same = reason.value === option.value;
        reason.value = option.value;
        reason.parentElement.classList.remove("needs-reason");
        if (armed && armed.button === dismiss && (armed.key === "d" || same)) submit(dismiss);
        else arm(dismiss, key);
        event.preventDefault();
        return;
      }
      if (key === "n") {
        var note = document.getElementById("note");
        if (note) { note.focus(); event.preventDefault(); }
        return;
      }
      var keyed = document.querySelector('a[data-key="' + CSS.escape(key) + '"]');
      if (keyed) { disarm(); keyed.click(); event.preventDefault(); }
    });
  }

  // --- anywhere ---------------------------------------------------------------------------
  function setUpGlobal() {
    var help = document.getElementById("help");
    var helpButton = document.querySelector("[data-help]");
    if (help && helpButton) helpButton.addEventListener("click", function () { help.showModal(); });
    var print = document.querySelector("[data-print]");
    if (print) print.addEventListener("click", function () { window.print(); });
    var pendingG = false;
    document.addEventListener("keydown", function (event) {
      if (event.key === "Escape" && typing(event.target)) { event.target.blur(); return; }
      if (event.ctrlKey || event.metaKey || event.altKey || typing(event.target)) return;
      if (event.key === "?" && help) {
        help.showModal();
        event.preventDefault();
        event.stopImmediatePropagation();
        return;
      }
      if (pendingG) {
        pendingG = false;
        var to = { q: "/", s: "/sources", k: "/keywords" }[event.key];
        if (to) { window.location.href = to; event.preventDefault(); }
        event.stopImmediatePropagation();
        return;
      }
      if (event.key === "g") {
        pendingG = true;
        event.stopImmediatePropagation();
        window.setTimeout(function () { pendingG = false; }, 1200);
      }
    });
  }

  document.addEventListener("DOMContentLoaded", function () {
    setUpGlobal();
    setUpQueue();
    setUpAlert();
  });
})();
