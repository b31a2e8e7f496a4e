// The dashboard's only script: live caption counters in each platform's own unit, and the
// browser's time zone for the times a merchant types. Pages work without it; the server checks
// every rule again.
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

  // Calendar: dropping a scheduled post on a day fills its Move form with that day and sends it
  // (the form is the keyboard's way; the drag only saves the typing).
  document.querySelectorAll(".chip[draggable]").forEach(function (chip) {
    chip.addEventListener("dragstart", function (event) {
      event.dataTransfer.setData("text/plain", chip.dataset.post);
    });
  });
  document.querySelectorAll(".day[data-date]").forEach(function (day) {
    day.addEventListener("dragover", function (event) { event.preventDefault(); day.classList.add("drop"); });
    day.addEventListener("dragleave", function () { day.classList.remove("drop"); });
    day.addEventListener("drop", function (event) {
      event.preventDefault();
      day.classList.remove("drop");
      var form = document.querySelector('form[data-move="' + event.dataTransfer.getData("text/plain") + '"]');
      if (!form) return;
      form.querySelector('input[name="date"]').value = day.dataset.date;
      form.submit();
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

  var zone = Intl.DateTimeFormat().resolvedOptions().timeZone;
  if (zone) {
    // The calendar shows the browser's zone: links to it carry it.
    document.querySelectorAll("a[data-keep-timezone]").forEach(function (link) {
      var url = new URL(link.href, location.href);
      url.searchParams.set("tz", zone);
      link.href = url.pathname + url.search;
    });
    document.querySelectorAll("input[data-timezone]").forEach(function (input) { input.value = zone; });
    document.querySelectorAll("[data-timezone-label]").forEach(function (label) { label.textContent = zone; });
  }
})();
