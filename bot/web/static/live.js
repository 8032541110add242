/* The staff's live chat pane: new messages by long poll (GET .../messages?after=<last id>), each shown as text
   (textContent, never HTML); "Message to visitor" sent without a reload. A visitor's message the safety net
   flagged is marked in red, with words. */
(function () {
  "use strict";
  var pane = document.getElementById("live-chat");
  if (!pane) return;
  var chat = pane.getAttribute("data-chat");
  var log = document.getElementById("live-log");
  var status = document.getElementById("live-status");
  var form = document.getElementById("live-form");
  var endForm = document.getElementById("end-form");
  var errorLine = document.getElementById("live-error");
  var visitorTyping = document.getElementById("visitor-typing");
  var after = 0;
  var TYPING_EVERY_MS = 3000; /* the staff member's typing is reported at most this often; the server keeps it 6 s */
  var EVENTS = { joined: "You joined the chat.", ended: "The chat has ended.", missed: "Nobody accepted in time." };
  var STATUS = { active: "Connected: the visitor sees your messages.", ended: "This chat has ended.",
                 missed: "Nobody accepted in time.", cancelled: "The visitor withdrew the request." };

  function item(message) {
    var who = message.who === "visitor" ? "Visitor" : message.who === "staff" ? "You" : "";
    var li = document.createElement("li");
    li.className = "turn " + message.who + (message.triage ? " flag" : "");
    if (who) {
      var label = document.createElement("span");
      label.className = "who";
      label.textContent = who;
      li.appendChild(label);
    }
    if (message.triage) {
      var flag = document.createElement("span");
      flag.className = "flag-word";
      flag.textContent = " Red flag (" + message.triage + "): emergency advice shown to the visitor";
      li.appendChild(flag);
    }
    var text = document.createElement("p");
    text.textContent = message.who === "system" ? (EVENTS[message.kind] || "") : message.text;
    li.appendChild(text);
    return li;
  }

  function finished(state) {
    status.textContent = STATUS[state] || status.textContent;
    if (form) form.hidden = true;
    if (endForm) endForm.hidden = true;
  }

  function poll() {
    /* typing: whether "The visitor is typing" shows now; the server answers at once when that changes. */
    fetch("/inbox/live/" + chat + "/messages?after=" + after + "&typing=" + (visitorTyping.hidden ? "0" : "1"),
          { credentials: "same-origin" })
      .then(function (response) {
        if (response.status === 401) { window.location.reload(); return null; }
        return response.ok ? response.json() : null;
      })
      .then(function (body) {
        if (!body) { setTimeout(poll, 3000); return; }
        body.messages.forEach(function (message) {
          if (message.id <= after) return;
          after = message.id;
          log.appendChild(item(message));
        });
        log.scrollTop = log.scrollHeight;
        visitorTyping.hidden = !(body.visitor_typing === true && body.status === "active");
        if (body.status === "waiting" || body.status === "active") {
          if (body.status === "active") status.textContent = STATUS.active;
          poll();
        } else finished(body.status);
      })
      .catch(function () { setTimeout(poll, 3000); });
  }

  if (form) {
    var box = document.getElementById("live-text");
    var token = form.querySelector('input[name="csrf_token"]').value;
    form.addEventListener("submit", function (event) {
      event.preventDefault();
      var text = box.value.trim();
      if (!text) return;
      errorLine.hidden = true;
      fetch(form.action, {
        method: "POST", credentials: "same-origin",
        headers: { "Accept": "application/json", "X-CSRF-Token": token },
        body: new URLSearchParams({ text: text, csrf_token: token })
      }).then(function (response) {
        return response.json().catch(function () { return {}; }).then(function (body) {
          if (response.ok) { box.value = ""; box.focus(); typingSentAt = 0; return; }
          errorLine.textContent = body.message || "Could not send. Try again.";
          errorLine.hidden = false;
        });
      }).catch(function () {
        errorLine.textContent = "Could not send. Check the connection and try again.";
        errorLine.hidden = false;
      });
    });
    var typingSentAt = 0;
    box.addEventListener("input", function () {
      if (!box.value.trim() || Date.now() - typingSentAt < TYPING_EVERY_MS) return;
      typingSentAt = Date.now();
      fetch("/inbox/live/" + chat + "/typing", {
        method: "POST", credentials: "same-origin", headers: { "X-CSRF-Token": token },
        body: new URLSearchParams({ csrf_token: token })
      }).catch(function () { /* a lost "typing" matters little */ });
    });
    box.addEventListener("keydown", function (event) {
      if (event.key === "Enter" && !event.shiftKey) { event.preventDefault(); form.requestSubmit(); }
    });
  }
  poll();
})();
