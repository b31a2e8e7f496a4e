// The dashboard's only script: live caption counters in each platform's own unit, calendar drag
// and drop, copying a new key, and the browser's time zone for a new account. Pages work
// without it; the server checks every rule again.
"use strict";

(function () {
  // Code points for most platforms; UTF-16 units where the platform counts them (TikTok).
  function measure(text, unit) {
    return unit === "utf16" ? text.length : Array.from(text).length;
  }

  function tags(input) {
    if (!input) return [];
    return input.value.split(/[\s,]+/).map(function (t) { return t.replace(/^#/, ""); }).filter(Boolean);
  }

  function update(textarea) {
    var list = document.getElementById(textarea.dataset.counter);
    if (!list) return;
    var hashtags = tags(document.getElementById(textarea.dataset.hashtags));
    list.querySelectorAll("li[data-max]").forEach(function (item) {
      var unit = item.dataset.unit;
      var length = measure(textarea.value, unit);
      if (item.dataset.tagsCount === "true") {
        hashtags.forEach(function (t) { length += 2 + measure(t, unit); });
      }
      var max = Number(item.dataset.max);
      item.textContent = item.dataset.name + ": " + length + " / " + max + (item.dataset.hint || "");
      item.classList.toggle("over", length > max);
    });
  }

  document.querySelectorAll("textarea[data-counter]").forEach(function (textarea) {
    var refresh = function () { update(textarea); };
    textarea.addEventListener("input", refresh);
    var hashtags = document.getElementById(textarea.dataset.hashtags);
    if (hashtags) hashtags.addEventListener("input", refresh);
    refresh();
  });

  // Calendar: dropping a scheduled post on a day (its time kept) or on an hour of the week (its
  // minutes kept) sends the page's one move form. Each post's own page is the keyboard's way.
  var move = document.querySelector("form[data-move-form]");
  // The chip being dragged, remembered here: what a drop carries in its data could be any text
  // dragged in from elsewhere, and never chooses what the form posts to.
  var dragged = null;
  var post = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
  document.querySelectorAll(".chip[draggable]").forEach(function (chip) {
    chip.addEventListener("dragstart", function (event) {
      dragged = chip;
      event.dataTransfer.setData("text/plain", chip.dataset.post);
    });
    chip.addEventListener("dragend", function () { dragged = null; });
  });
  document.querySelectorAll("[data-date]").forEach(function (cell) {
    cell.addEventListener("dragover", function (event) { event.preventDefault(); cell.classList.add("drop"); });
    cell.addEventListener("dragleave", function () { cell.classList.remove("drop"); });
    cell.addEventListener("drop", function (event) {
      event.preventDefault();
      cell.classList.remove("drop");
      var chip = dragged;
      dragged = null;
      if (!move || !chip || !post.test(chip.dataset.post)) return;
      var time = chip.dataset.time;
      if (cell.dataset.hour) time = cell.dataset.hour + ":" + time.slice(3, 5);
      move.action = "/app/posts/" + chip.dataset.post + "/move";
      move.elements.date.value = cell.dataset.date;
      move.elements.time.value = time;
      move.submit();
    });
  });

  // "Copy key": the input's value to the clipboard (the input stays selectable without it).
  document.querySelectorAll("button[data-copy]").forEach(function (button) {
    button.addEventListener("click", function () {
      var input = document.getElementById(button.dataset.copy);
      if (!input || !navigator.clipboard) return;
      navigator.clipboard.writeText(input.value).then(function () { button.textContent = "Copied"; });
    });
  });

  // An import's file picker reads the file into the form's text box (which also takes pasted
  // rows without script), so the form stays a plain form post.
  document.querySelectorAll("input[type=file][data-fills]").forEach(function (picker) {
    picker.addEventListener("change", function () {
      var target = document.getElementById(picker.dataset.fills);
      var file = picker.files && picker.files[0];
      if (!target || !file) return;
      file.text().then(function (text) { target.value = text; });
    });
  });

  // A page of work under way (an import running) reads itself again until the work is done.
  var reload = document.querySelector("[data-reload-after]");
  if (reload) {
    setTimeout(function () { location.reload(); }, 1000 * Number(reload.dataset.reloadAfter));
  }

  // Registration sends the browser's time zone: the new account starts in it.
  var zone = Intl.DateTimeFormat().resolvedOptions().timeZone;
  if (zone) {
    document.querySelectorAll("input[data-timezone]").forEach(function (input) { input.value = zone; });
  }
})();
