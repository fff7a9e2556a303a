// Live SMS segment count under each text field marked data-segments,
// with the same rules as bot.texts.sms_segments (GSM-7 160/153, UCS-2 70/67).
(function () {
  "use strict";
  var BASIC = "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?" +
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà";
  var EXTENDED = "^{}\\[~]|€\f";

  function segments(body) {
    var units = 0, gsm = true, ch;
    for (ch of body) {
      if (EXTENDED.indexOf(ch) >= 0) { units += 2; }
      else if (BASIC.indexOf(ch) >= 0) { units += 1; }
      else { gsm = false; break; }
    }
    var single = 160, multi = 153, encoding = "GSM-7";
    if (!gsm) {
      units = body.length; // UTF-16 code units, as UCS-2 counts them
      single = 70; multi = 67; encoding = "UCS-2";
    }
    var count = units === 0 ? 0 : (units <= single ? 1 : Math.ceil(units / multi));
    return { count: count, encoding: encoding, units: units };
  }

  // The budget comes from the page (bot.texts.SEGMENT_BUDGET), so the counter and
  // the launch check agree.
  function update(field, output) {
    var s = segments(field.value);
    var budget = parseInt(field.getAttribute("data-budget"), 10) || 2;
    output.textContent = s.count === 0 ? "" :
      s.count + (s.count === 1 ? " SMS segment" : " SMS segments") + " (" + s.encoding + ")" +
      (s.count > budget ? " – please shorten to " + budget + " or fewer" : "");
    output.classList.toggle("too-long", s.count > budget);
  }

  document.querySelectorAll("[data-segments]").forEach(function (field) {
    var output = document.querySelector('[data-segments-for="' + field.id + '"]');
    if (!output) { return; }
    field.addEventListener("input", function () { update(field, output); });
    update(field, output);
  });
})();

// Ready sentences quoting a tally: a click puts the sentence into the update at the cursor,
// then the segment count is brought up to date as if it had been typed.
(function () {
  "use strict";
  document.querySelectorAll("[data-insert-into]").forEach(function (button) {
    button.addEventListener("click", function () {
      var field = document.getElementById(button.getAttribute("data-insert-into"));
      if (!field) { return; }
      var sentence = button.getAttribute("data-text");
      var start = field.selectionStart, end = field.selectionEnd;
      var before = field.value.slice(0, start), after = field.value.slice(end);
      if (before && !/\s$/.test(before)) { sentence = " " + sentence; }
      if (after && !/^\s/.test(after)) { sentence = sentence + " "; }
      field.value = before + sentence + after;
      var caret = before.length + sentence.length;
      field.focus();
      field.setSelectionRange(caret, caret);
      field.dispatchEvent(new Event("input", { bubbles: true }));
    });
  });
})();
