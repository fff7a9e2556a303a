// The campaign form's questions in the browser: show the parts for the kind of question, add and
// remove choices (2 to 9), one "then go to" per scale value, and count each question's SMS
// segments as residents get it, choices and all. The server checks everything again.
(function () {
  "use strict";
  var form = document.querySelector("[data-campaign-form]");
  if (!form || !window.voicesSms) { return; }
  var sms = window.voicesSms;
  var hints = {
    choices: form.getAttribute("data-choices-reply"),
    scale: form.getAttribute("data-scale-reply")
  };
  var FEWEST = 2, MOST = 9;

  function prefix(row) { return "prompts-" + (parseInt(row.getAttribute("data-question"), 10) - 1) + "-"; }
  function part(row, name) { return row.querySelector('[name="' + prefix(row) + name + '"]'); }
  function rowOf(el) { return el.closest ? el.closest("[data-question]") : null; }
  function trimmed(el) { return el ? el.value.trim() : ""; }

  function questionForm(row) {
    var kind = part(row, "kind").value;
    var choices = [];
    row.querySelectorAll("[data-choice] input").forEach(function (input) {
      if (input.value.trim()) { choices.push(input.value.trim()); }
    });
    return {
      kind: kind, choices: choices,
      low: parseInt(trimmed(part(row, "scale_low")), 10),
      high: parseInt(trimmed(part(row, "scale_high")), 10),
      lowLabel: trimmed(part(row, "low_label")), highLabel: trimmed(part(row, "high_label"))
    };
  }

  // A question's counter counts what the SMS will say: the question, its choices, the reply line.
  sms.bodies.push(function (field) {
    var row = rowOf(field);
    if (!row || field.name !== prefix(row) + "text") { return null; }
    var question = field.value.trim(), shape = questionForm(row);
    if (!question || shape.kind === "open") { return null; }
    if (shape.kind === "scale" && !(shape.low < shape.high)) { return question; }
    return sms.asked(question, shape, hints);
  });

  function showKind(row) {
    var kind = part(row, "kind").value;
    row.querySelectorAll("[data-kind-part]").forEach(function (section) {
      section.hidden = section.getAttribute("data-kind-part") !== kind;
    });
  }

  function forget(copy) {
    copy.querySelectorAll(".has-error").forEach(function (el) { el.classList.remove("has-error"); });
    copy.querySelectorAll("[role=alert]").forEach(function (el) { el.remove(); });
    copy.querySelectorAll("[aria-invalid]").forEach(function (el) {
      el.removeAttribute("aria-invalid");
      el.removeAttribute("aria-describedby");
    });
    copy.querySelectorAll("input").forEach(function (el) { el.value = ""; });
    copy.querySelectorAll("select").forEach(function (el) { el.value = ""; });
  }

  function renumber(row) {
    var number = row.getAttribute("data-question");
    row.querySelectorAll("[data-choice]").forEach(function (item, index) {
      item.querySelectorAll("[id], [for], [name]").forEach(function (el) {
        ["id", "for", "name"].forEach(function (attr) {
          var value = el.getAttribute(attr);
          if (value) { el.setAttribute(attr, value.replace(/-choices-\d+-/, "-choices-" + index + "-")); }
        });
      });
      item.querySelectorAll("label").forEach(function (label) {
        label.textContent = label.textContent.replace(/hoice \d+/, "hoice " + (index + 1));
      });
      var remove = item.querySelector("[data-remove-choice]");
      remove.setAttribute("aria-label", "Remove choice " + (index + 1) + " of question " + number);
    });
    var count = row.querySelectorAll("[data-choice]").length;
    row.querySelectorAll("[data-remove-choice]").forEach(function (b) { b.disabled = count <= FEWEST; });
    row.querySelector("[data-add-choice]").disabled = count >= MOST;
  }

  function removeButton() {
    var button = document.createElement("button");
    button.type = "button";
    button.className = "secondary";
    button.setAttribute("data-remove-choice", "");
    button.textContent = "Remove";
    return button;
  }

  function addChoice(row) {
    var items = row.querySelectorAll("[data-choice]");
    if (items.length >= MOST) { return; }
    var copy = items[items.length - 1].cloneNode(true);
    forget(copy);
    items[items.length - 1].after(copy);
    renumber(row);
    copy.querySelector("input").focus();
  }

  function removeChoice(row, item) {
    if (row.querySelectorAll("[data-choice]").length <= FEWEST) { return; }
    var next = item.nextElementSibling || item.previousElementSibling;
    item.remove();
    renumber(row);
    next.querySelector("input").focus();
  }

  function valuesChosen(list) {
    var chosen = {};
    list.querySelectorAll("li[data-value]").forEach(function (item) {
      chosen[item.getAttribute("data-value")] = item.querySelector("select").value;
    });
    return chosen;
  }

  // One "then go to" per value of the scale, each keeping its choice when the ends move.
  function scaleTargets(row) {
    var list = row.querySelector("[data-scale-next]");
    var shape = questionForm(row), chosen = valuesChosen(list);
    var model = part(row, "next").closest(".field");
    var name = list.getAttribute("data-name");
    list.textContent = "";
    if (!(shape.low >= 0 && shape.low < shape.high && shape.high - shape.low <= 10)) { return; }
    for (var value = shape.low, index = 0; value <= shape.high; value++, index++) {
      var item = document.createElement("li");
      item.setAttribute("data-value", String(value));
      var copy = model.cloneNode(true);
      forget(copy);
      var select = copy.querySelector("select");
      select.id = select.name = name + "-" + index;
      copy.querySelector("label").setAttribute("for", select.id);
      copy.querySelector("label").textContent = "After " + value + ", go to";
      select.value = chosen[String(value)] || "";
      item.appendChild(copy);
      list.appendChild(item);
    }
  }

  // The "then go to" lists name each question by its number and its words as typed.
  function relabel(row) {
    var number = row.getAttribute("data-question");
    var words = trimmed(part(row, "text"));
    if (words.length > 40) { words = words.slice(0, 37) + "..."; }
    form.querySelectorAll('select[data-target] option[value="' + number + '"]').forEach(function (o) {
      o.textContent = "question " + number + (words ? ": " + words : "");
    });
  }

  function refresh(row) { sms.update(part(row, "text")); }

  form.querySelectorAll("[data-question]").forEach(function (row) {
    row.querySelectorAll("[data-choice]").forEach(function (item) { item.appendChild(removeButton()); });
    var add = document.createElement("button");
    add.type = "button";
    add.className = "secondary";
    add.setAttribute("data-add-choice", "");
    add.textContent = "Add a choice";
    add.setAttribute("aria-label", "Add a choice to question " + row.getAttribute("data-question"));
    row.querySelector("[data-choices]").after(add);
    renumber(row);
    showKind(row);
    refresh(row);
  });

  form.addEventListener("click", function (event) {
    var row = rowOf(event.target);
    if (!row) { return; }
    if (event.target.closest("[data-add-choice]")) { addChoice(row); refresh(row); }
    var remove = event.target.closest("[data-remove-choice]");
    if (remove) { removeChoice(row, remove.closest("[data-choice]")); refresh(row); }
  });

  function changed(event) {
    var row = rowOf(event.target);
    if (!row) { return; }
    var name = event.target.name || "";
    if (name === prefix(row) + "kind") { showKind(row); }
    if (name === prefix(row) + "scale_low" || name === prefix(row) + "scale_high") { scaleTargets(row); }
    if (name === prefix(row) + "text") { relabel(row); }
    refresh(row);
  }
  form.addEventListener("input", changed);
  form.addEventListener("change", changed);
})();
