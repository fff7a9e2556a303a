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

  function fill(template, values) {
    return template.replace(/\{(\w+)\}/g, function (all, name) {
      return name in values ? values[name] : all;
    });
  }

  // A closed question as residents get it on SMS, as bot.conversation.choices QuestionForm.asked
  // writes it; `hints` are the page's texts.yaml lines with their {placeholders}.
  function asked(question, form, hints) {
    if (form.kind === "scale") {
      var end = function (value, label) { return label ? value + " (" + label + ")" : String(value); };
      return question + "\n" + fill(hints.scale, {
        low: end(form.low, form.lowLabel), high: end(form.high, form.highLabel)
      });
    }
    if (form.kind === "choices" && form.choices.length) {
      var lines = [], numbers = [];
      form.choices.forEach(function (words, index) {
        lines.push((index + 1) + ") " + words);
        numbers.push(String(index + 1));
      });
      return question + "\n" + lines.join("\n") + "\n" + fill(hints.choices, {
        numbers: numbers.slice(0, -1).join(", "), last: numbers[numbers.length - 1]
      });
    }
    return question;
  }

  var bodies = [];  // functions that may say what a field's text becomes when it is sent

  function bodyOf(field) {
    for (var i = 0; i < bodies.length; i++) {
      var body = bodies[i](field);
      if (body !== null) { return body; }
    }
    return field.value;
  }

  // The budget comes from the page (bot.texts.SEGMENT_BUDGET), so the counter and
  // the launch check agree.
  function update(field) {
    var output = document.querySelector('[data-segments-for="' + field.id + '"]');
    if (!output) { return; }
    var s = segments(bodyOf(field));
    var budget = parseInt(field.getAttribute("data-budget"), 10) || 2;
    output.textContent = s.count === 0 ? "" :
      s.count + (s.count === 1 ? " SMS segment" : " SMS segments") + " (" + s.encoding + ")" +
      (s.count > budget ? " – please shorten to " + budget + " or fewer" : "");
    output.classList.toggle("too-long", s.count > budget);
  }

  window.voicesSms = { segments: segments, asked: asked, bodies: bodies, update: update };

  document.querySelectorAll("[data-segments]").forEach(function (field) {
    field.addEventListener("input", function () { update(field); });
    update(field);
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
