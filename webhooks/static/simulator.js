"use strict";
(function () {
  const log = document.getElementById("log");
  const form = document.getElementById("compose");
  const input = document.getElementById("text");
  const errorBox = document.getElementById("error");
  const seen = new Set();
  const urls = document.getElementById("compose").dataset;

  function bubble(from, text, buttons) {
    const item = document.createElement("li");
    item.className = "msg " + (from === "me" ? "me" : "bot");
    const p = document.createElement("p");
    p.textContent = text;
    item.appendChild(p);
    (buttons || []).forEach(function (label) {
      const b = document.createElement("button");
      b.type = "button";
      b.className = "chip";
      // Command words (YES) read as words; a question's choices keep their own case.
      const shouting = label === label.toUpperCase() && /[A-Z]/.test(label);
      b.textContent = shouting ? label.charAt(0) + label.slice(1).toLowerCase() : label;
      b.addEventListener("click", function () { send(label); });
      item.appendChild(b);
    });
    log.appendChild(item);
    log.scrollTop = log.scrollHeight;
  }

  function show(key, from, text, buttons) {
    if (key && seen.has(key)) return;
    if (key) seen.add(key);
    bubble(from, text, buttons);
  }

  function newId() {
    const bytes = new Uint8Array(12);
    crypto.getRandomValues(bytes);
    return Array.from(bytes, function (b) { return b.toString(16).padStart(2, "0"); }).join("");
  }

  async function refresh() {
    const res = await fetch(urls.history, { credentials: "same-origin" });
    if (!res.ok) return;
    const data = await res.json();
    data.messages.forEach(function (m) { show(m.key, m.from, m.text, m.buttons); });
  }

  async function send(text) {
    errorBox.hidden = true;
    const res = await fetch(urls.send, {
      method: "POST",
      credentials: "same-origin",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ text: text, id: newId() }),
    });
    if (!res.ok) {
      let reason = "That message could not be sent.";
      try { reason = (await res.json()).error || reason; } catch (e) { /* not JSON */ }
      errorBox.textContent = reason;
      errorBox.hidden = false;
      return;
    }
    // Shown from the answer itself: an erasure leaves nothing in the history to show.
    const data = await res.json();
    show(data.key, "me", text);
    data.replies.forEach(function (r) { show(r.key, "bot", r.text, r.buttons); });
  }

  form.addEventListener("submit", function (event) {
    event.preventDefault();
    const text = input.value;
    if (!text.trim()) return;
    input.value = "";
    send(text);
    input.focus();
  });
  input.addEventListener("keydown", function (event) {
    if (event.key === "Enter" && !event.shiftKey) {
      event.preventDefault();
      form.requestSubmit();
    }
  });
  document.querySelectorAll("[data-text]").forEach(function (el) {
    el.addEventListener("click", function () { send(el.dataset.text); });
  });
  document.getElementById("reset").addEventListener("click", async function () {
    await fetch(urls.reset, { method: "POST", credentials: "same-origin",
      headers: { "Content-Type": "application/json" }, body: "{}" });
    seen.clear();
    log.innerHTML = "";
    input.focus();
  });
  refresh();
  setInterval(refresh, 4000);
})();
