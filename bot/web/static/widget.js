/* Medius chat widget. A clinic embeds it with one tag:
 *   <script src="https://HOST/widget.js" data-clinic="stl" async></script>
 * It draws a launcher and a chat panel inside a shadow root (so the clinic's CSS
 * and ours never mix), loads the clinic's settings from HOST, and chats through
 * HOST/chat. Every text is put in the page as text, never as HTML.
 */
(function () {
  "use strict";

  var script = document.currentScript ||
    document.querySelector('script[src*="widget.js"][data-clinic]');
  if (!script || window.__mediusWidget) return;
  window.__mediusWidget = true;

  var BASE = new URL(".", script.src).href;
  var CHAT_URL = BASE + "chat";
  var LIVE_URL = BASE + "chat/live";
  var TYPING_URL = BASE + "chat/live/typing";
  var TYPING_EVERY_MS = 3000; /* the visitor's typing is reported at most this often; the server keeps it 6 s */
  var DAY_MS = 24 * 60 * 60 * 1000;
  var CLINIC = script.getAttribute("data-clinic") || "";
  var STORE_KEY = "medius.v1." + CLINIC;
  var MAX_HISTORY = 200;
  var MAX_CHARS = 1000;

  function el(tag, attrs, children) {
    var node = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (name) {
      if (name === "text") node.textContent = attrs[name];
      else if (name === "hidden") node.hidden = !!attrs[name];
      else node.setAttribute(name, attrs[name]);
    });
    (children || []).forEach(function (child) { if (child) node.appendChild(child); });
    return node;
  }

  function newSenderId() {
    var bytes = new Uint8Array(16);
    window.crypto.getRandomValues(bytes);
    return Array.prototype.map.call(bytes, function (b) { return ("0" + b.toString(16)).slice(-2); }).join("");
  }

  /* ---- storage: the conversation survives reloads and moving between the site's pages ---- */
  /* A conversation idle for longer than the clinic keeps conversations (history_days) is dropped. */
  function load(historyDays) {
    try {
      var state = JSON.parse(window.localStorage.getItem(STORE_KEY) || "null");
      var fresh = state && typeof state.active === "number" && Date.now() - state.active < historyDays * DAY_MS;
      if (fresh && typeof state.sender === "string" && Array.isArray(state.messages)) return state;
      window.localStorage.removeItem(STORE_KEY);
    } catch (e) { /* unreadable or blocked storage: start fresh */ }
    /* sender: this page's own name for the conversation, never sent; the server's token is state.conversation. */
    return { sender: newSenderId(), messages: [], open: false, unread: 0 };
  }

  function save(state) {
    state.messages = state.messages.slice(-MAX_HISTORY);
    if (typeof state.active !== "number") state.active = Date.now();
    try { window.localStorage.setItem(STORE_KEY, JSON.stringify(state)); } catch (e) { /* storage full or blocked */ }
  }

  /* ---- text with clickable links and phone numbers, built as DOM nodes ---- */
  var LINKS = /(https?:\/\/[^\s<>"]+[^\s<>".,;:!?)\]])|((?:\+?1[\s.-]?)?\(?\b\d{3}\)?[\s.-]?\d{3}[\s.-]\d{4}\b)|(\b911\b)/g;

  function richText(text) {
    var fragment = document.createDocumentFragment();
    var last = 0;
    String(text).replace(LINKS, function (match, url, phone, emergency, offset) {
      fragment.appendChild(document.createTextNode(text.slice(last, offset)));
      if (url) {
        fragment.appendChild(el("a", { href: url, target: "_blank", rel: "noopener noreferrer", text: match }));
      } else {
        var digits = match.replace(/[^\d+]/g, "");
        fragment.appendChild(el("a", { href: "tel:" + digits, text: match }));
      }
      last = offset + match.length;
      return match;
    });
    fragment.appendChild(document.createTextNode(text.slice(last)));
    return fragment;
  }

  /* ---- live chat with the clinic's staff: the server marks its replies with {"live": "waiting"|"active"|"none"} ---- */
  var LIVE = { waiting: true, active: true, none: true };

  function liveOf(reply) {
    var custom = reply && reply.custom;
    if (!custom || typeof custom !== "object" || Array.isArray(custom)) return "";
    return typeof custom.live === "string" && LIVE.hasOwnProperty(custom.live) ? custom.live : "";
  }

  /* ---- safety advice: the assistant marks it with a custom payload {"triage": ...} ---- */
  var TRIAGE = { emergency: true, urgent: true, confirm: true, nerve: true };

  /* The triage level of a reply from the assistant, or "" for none: any other shape of `custom` is ignored. */
  function triageOf(reply) {
    var custom = reply.custom;
    if (!custom || typeof custom !== "object" || Array.isArray(custom)) return "";
    var level = custom.triage;
    return typeof level === "string" && TRIAGE.hasOwnProperty(level) ? level : "";
  }

  function chatIcon() {
    var ns = "http://www.w3.org/2000/svg";
    var svg = document.createElementNS(ns, "svg");
    svg.setAttribute("viewBox", "0 0 24 24");
    svg.setAttribute("class", "launcher-icon");
    svg.setAttribute("aria-hidden", "true");
    svg.setAttribute("focusable", "false");
    var path = document.createElementNS(ns, "path");
    path.setAttribute("d", "M4 4h16a2 2 0 0 1 2 2v10a2 2 0 0 1-2 2H9l-5 4v-4a2 2 0 0 1-2-2V6a2 2 0 0 1 2-2z");
    path.setAttribute("fill", "currentColor");
    svg.appendChild(path);
    return svg;
  }

  function start(config) {
    var state = load(config.history_days);
    var busy = false;
    var unseenEmergency = null; /* an emergency card that came while the panel was closed */
    var polling = false; /* a long poll for staff's messages is out */

    var host = el("div", { id: "medius-widget" });
    var root = host.attachShadow({ mode: "open" });
    root.appendChild(el("link", { rel: "stylesheet", href: BASE + "widget.css" }));

    var badge = el("span", { "class": "badge", "aria-hidden": "true", hidden: true });
    var launcher = el("button", {
      "class": "launcher", type: "button", "aria-expanded": "false", "aria-controls": "medius-panel"
    }, [chatIcon(),
        el("span", { "class": "launcher-text", text: "Chat" }), badge]);

    var log = el("div", {
      "class": "log", role: "log", "aria-live": "polite", "aria-relevant": "additions",
      "aria-label": "Conversation", tabindex: "0"
    });
    var typing = el("div", { "class": "typing", role: "status", hidden: true }, [
      el("span", { "class": "dots", "aria-hidden": "true" }, [el("span"), el("span"), el("span")]),
      el("span", { text: "The assistant is typing\u2026" })
    ]);
    /* "<staff name> is typing…": the text comes from the server with the long poll. */
    var staffTypingText = el("span");
    var staffTyping = el("div", { "class": "live-typing", role: "status", hidden: true }, [
      el("span", { "class": "dots", "aria-hidden": "true" }, [el("span"), el("span"), el("span")]),
      staffTypingText
    ]);
    var errorLine = el("div", { "class": "error", role: "alert", hidden: true });
    /* Asks for a person on the same path as typing it: the server queues the request when someone is
       available, or offers the call-back request and the phone. Hidden during a live chat. */
    var talkButton = el("button", { type: "button", "class": "talk", text: config.talk_button || "Talk to a person" });
    var talkBar = el("div", { "class": "actions", hidden: !config.talk_payload }, [talkButton]);
    var input = el("input", {
      id: "medius-input", type: "text", "class": "input", autocomplete: "off",
      maxlength: String(MAX_CHARS), placeholder: "Type your question", enterkeyhint: "send"
    });
    var sendButton = el("button", { type: "submit", "class": "send", text: "Send" });
    var form = el("form", { "class": "composer" }, [
      el("label", { "for": "medius-input", "class": "visually-hidden", text: "Your message" }),
      input, sendButton
    ]);
    var closeButton = el("button", { type: "button", "class": "close", "aria-label": "Close chat", text: "\u00D7" });
    var restartButton = el("button", { type: "button", "class": "restart", text: "Start over" });
    var privacyLink = el("a", { href: config.privacy_url, target: "_blank", rel: "noopener noreferrer", text: "Privacy policy" });
    var subtitle = el("p", { "class": "subtitle", text: "Automated assistant" });
    var panel = el("section", {
      id: "medius-panel", "class": "panel", role: "dialog", "aria-labelledby": "medius-title", hidden: true
    }, [
      el("header", { "class": "head" }, [
        el("div", { "class": "titles" }, [
          el("h2", { id: "medius-title", text: config.name }),
          subtitle
        ]),
        restartButton, closeButton
      ]),
      log, typing, staffTyping, errorLine,
      talkBar,
      form,
      el("p", { "class": "privacy" }, [document.createTextNode(config.privacy_note + " "), privacyLink])
    ]);
    root.appendChild(el("div", { "class": "medius" }, [panel, launcher]));
    host.style.setProperty("--medius-colour", config.colour);
    document.body.appendChild(host);

    function updateLauncher() {
      var label = "Chat with the assistant of " + config.name;
      if (state.unread > 0) label += ", " + state.unread + " unread " + (state.unread === 1 ? "message" : "messages");
      launcher.setAttribute("aria-label", label);
      badge.textContent = String(state.unread);
      badge.hidden = !(state.unread > 0);
    }

    /* An emergency: a card screen readers announce at once, with a large button that dials the number. */
    function emergencyCard(message) {
      var number = config.emergency_number || "911";
      return el("div", { "class": "emergency-card", role: "alert" }, [
        el("h3", { "class": "emergency-heading", text: config.emergency_heading || "Emergency" }),
        el("a", { "class": "emergency-call", href: "tel:" + number, text: config.emergency_call || "Call " + number }),
        message.text ? el("p", {}, [richText(message.text)]) : null
      ]);
    }

    function renderMessage(message) {
      var emergency = message.who === "bot" && message.triage === "emergency";
      var urgent = message.who === "bot" && message.triage === "urgent";
      var item = el("div", { "class": "msg " + message.who + (emergency ? " emergency" : "") + (urgent ? " urgent" : "") });
      if (message.who === "staff") {
        /* A person's words: their name shown, and the text as text, never HTML. */
        item.appendChild(el("span", { "class": "from", text: message.name || "Clinic staff" }));
      } else if (message.who !== "note") {
        item.appendChild(el("span", { "class": "visually-hidden", text: message.who === "me" ? "You said: " : "Assistant: " }));
      }
      item.appendChild(emergency ? emergencyCard(message) : el("p", {}, [richText(message.text || "")]));
      if (message.buttons && message.buttons.length) {
        var group = el("div", { "class": "quick", role: "group", "aria-label": "Suggested replies" });
        message.buttons.forEach(function (button) {
          var choice = el("button", { type: "button", text: button.title });
          if (message.used) choice.disabled = true;
          choice.addEventListener("click", function () {
            if (busy || message.used) return;
            input.focus();
            send(button.payload, button.title);
          });
          group.appendChild(choice);
        });
        item.appendChild(group);
      }
      log.appendChild(item);
      log.scrollTop = log.scrollHeight;
      return item;
    }

    /* Scroll the log back up if needed so that an emergency card's top (its heading and call button)
       stays in view, even when more messages came after it or the log is short (phones, zoom). */
    function keepInView(item) {
      var above = item.getBoundingClientRect().top - log.getBoundingClientRect().top - 8;
      if (above < 0) log.scrollTop += above;
    }

    function add(message) {
      state.messages.push(message);
      state.active = Date.now();
      /* Past MAX_HISTORY, drop the oldest messages from the page too, without redrawing the rest:
         a redraw would make screen readers announce every emergency card again. */
      var dropped = state.messages.length - MAX_HISTORY;
      if (dropped > 0) {
        state.messages = state.messages.slice(dropped);
        for (var i = 0; i < dropped && log.firstChild; i++) log.removeChild(log.firstChild);
      }
      var item = renderMessage(message);
      if ((message.who === "bot" || message.who === "staff") && panel.hidden) state.unread += 1;
      save(state);
      updateLauncher();
      return item;
    }

    function greet() {
      add({ who: "bot", text: config.greeting + " " + config.disclaimer, buttons: config.starters || [] });
    }

    function redraw() {
      while (log.firstChild) log.removeChild(log.firstChild);
      state.messages.forEach(renderMessage);
    }

    function newMessageId() {
      /* The idempotency key of one message: a retry sends the same, so the turn runs once. */
      var bytes = new Uint8Array(12);
      (window.crypto || window.msCrypto).getRandomValues(bytes);
      return Array.prototype.map.call(bytes, function (b) { return ("0" + b.toString(16)).slice(-2); }).join("");
    }

    function showError(text, messageId) {
      while (errorLine.firstChild) errorLine.removeChild(errorLine.firstChild);
      errorLine.appendChild(el("p", {}, [richText(config.unreachable + " Please try again, or " + config.contact + ".")]));
      var retry = el("button", { type: "button", "class": "retry", text: "Try again" });
      retry.addEventListener("click", function () {
        errorLine.hidden = true;
        input.focus();
        post(text, messageId);
      });
      errorLine.appendChild(retry);
      errorLine.hidden = false;
    }

    function setBusy(value) {
      busy = value;
      typing.hidden = !value;
      sendButton.disabled = value;
    }

    function post(text, messageId) {
      var sender = state.sender;
      messageId = messageId || newMessageId();
      setBusy(true);
      var controller = window.AbortController ? new AbortController() : null;
      var timer = setTimeout(function () { if (controller) controller.abort(); }, config.timeout_ms);
      fetch(CHAT_URL, {
        method: "POST",
        headers: { "Content-Type": "application/json" },
        /* The server issues the conversation and signs it; this token is the only key to it. */
        body: JSON.stringify({ conversation: state.conversation || undefined, message: text, message_id: messageId,
                               metadata: { clinic: config.clinic } }),
        signal: controller ? controller.signal : undefined
      }).then(function (response) {
        var token = response.headers.get("X-Medius-Conversation");
        if (token && sender === state.sender) { state.conversation = token; save(state); }
        return response.json().catch(function () { return null; }).then(function (body) {
          return { status: response.status, body: body };
        });
      }).then(function (result) {
        clearTimeout(timer);
        setBusy(false);
        if (sender !== state.sender) return; /* the visitor started over meanwhile */
        if (result.status === 200 && Array.isArray(result.body)) {
          var firstEmergency = null, shown = 0, live = "";
          result.body.forEach(function (reply) {
            if (!reply || typeof reply !== "object") return;
            live = liveOf(reply) || live;
            var text = typeof reply.text === "string" ? reply.text : "";
            var triage = triageOf(reply);
            /* A reply without text is shown only if it is an emergency: the card then says enough. */
            if (!text && triage !== "emergency") return;
            var buttons = (Array.isArray(reply.buttons) ? reply.buttons : []).filter(function (button) {
              return button && typeof button.title === "string" && typeof button.payload === "string";
            });
            var message = { who: "bot", text: text, buttons: buttons };
            if (triage) message.triage = triage; /* kept in the history, so a reload draws the same card */
            var item = add(message);
            shown += 1;
            if (triage === "emergency" && !firstEmergency) firstEmergency = item;
          });
          /* Nothing to show (the assistant failed part way): say so, with the clinic's phone. A message passed
             to a staff member needs no answer. */
          if (!shown && !live) showError(text, messageId);
          if (live) setLive(live);
          if (firstEmergency && panel.hidden) unseenEmergency = firstEmergency; /* brought into view on open */
          else if (firstEmergency) keepInView(firstEmergency);
        } else if (result.status >= 400 && result.status < 500 && result.body && result.body.message) {
          add({ who: "note", text: result.body.message });
        } else {
          showError(text, messageId);
        }
      }).catch(function () {
        clearTimeout(timer);
        setBusy(false);
        if (sender === state.sender) showError(text, messageId);
      });
    }

    function showLiveState() {
      subtitle.textContent = state.live === "active" ? "Live chat with the clinic's team" :
        state.live === "waiting" ? "Asking the clinic's team\u2026" : "Automated assistant";
      talkBar.hidden = !!state.live || !config.talk_payload;
      if (state.live !== "active") showStaffTyping("");
    }

    function showStaffTyping(text) {
      staffTypingText.textContent = text;
      staffTyping.hidden = !text;
    }

    /* The visitor's typing, for the staff member: at most once every TYPING_EVERY_MS, only in an active chat. */
    var typingSentAt = 0;
    function reportTyping() {
      if (state.live !== "active" || !state.conversation || !input.value.trim()) return;
      if (Date.now() - typingSentAt < TYPING_EVERY_MS) return;
      typingSentAt = Date.now();
      fetch(TYPING_URL, {
        method: "POST",
        headers: { "Content-Type": "application/json" },
        body: JSON.stringify({ conversation: state.conversation, clinic: config.clinic })
      }).catch(function () { /* a lost "typing" matters little */ });
    }

    function setLive(value) {
      state.live = value === "waiting" || value === "active" ? value : undefined;
      save(state);
      showLiveState();
      if (state.live) pollLive();
    }

    /* Staff's messages, without the visitor sending anything: a long poll that says the last message id this
       page has, so a reload or a dropped network neither loses nor repeats one (the id is saved with the message). */
    function pollLive() {
      if (polling || !state.live || !state.conversation) return;
      polling = true;
      var sender = state.sender;
      var controller = window.AbortController ? new AbortController() : null;
      var timer = setTimeout(function () { if (controller) controller.abort(); }, 40000);
      fetch(LIVE_URL, {
        method: "POST",
        headers: { "Content-Type": "application/json" },
        /* typing: whether "<name> is typing…" shows now; the server answers at once when that changes. */
        body: JSON.stringify({ conversation: state.conversation, clinic: config.clinic, after: state.liveAfter || 0,
                               typing: !staffTyping.hidden }),
        signal: controller ? controller.signal : undefined
      }).then(function (response) {
        if (!response.ok) throw new Error("live chat " + response.status);
        return response.json();
      }).then(function (body) {
        clearTimeout(timer);
        polling = false;
        if (sender !== state.sender || !body || !Array.isArray(body.messages)) return;
        body.messages.forEach(function (message) {
          if (!message || typeof message.id !== "number" || message.id <= (state.liveAfter || 0)) return;
          state.liveAfter = message.id; /* saved together with the message by add() */
          var text = typeof message.text === "string" ? message.text : "";
          if (message.who === "staff") {
            add({ who: "staff", name: typeof message.name === "string" ? message.name : "", text: text });
          } else {
            var buttons = (Array.isArray(message.buttons) ? message.buttons : []).filter(function (button) {
              return button && typeof button.title === "string" && typeof button.payload === "string";
            });
            add({ who: "bot", text: text, buttons: buttons });
          }
        });
        showStaffTyping(typeof body.typing === "string" ? body.typing : "");
        setLive(typeof body.live === "string" ? body.live : "none");
      }).catch(function () {
        clearTimeout(timer);
        polling = false;
        if (sender === state.sender) setTimeout(pollLive, 3000);
      });
    }

    function retireQuickReplies() {
      /* Older suggestions no longer fit once the visitor has said something new. */
      state.messages.forEach(function (message) { if (message.buttons && message.buttons.length) message.used = true; });
      Array.prototype.forEach.call(log.querySelectorAll(".quick button"), function (b) { b.disabled = true; });
    }

    function send(text, shown) {
      if (busy) return;
      typingSentAt = 0; /* the server clears the visitor's typing with the message: the next keystroke says it */
      errorLine.hidden = true;
      retireQuickReplies();
      add({ who: "me", text: shown || text });
      post(text);
    }

    function open(focusInput) {
      panel.hidden = false;
      launcher.setAttribute("aria-expanded", "true");
      launcher.classList.add("is-open");
      state.open = true;
      state.unread = 0;
      if (!state.messages.length) greet();
      save(state);
      updateLauncher();
      log.scrollTop = log.scrollHeight;
      if (unseenEmergency && unseenEmergency.parentNode === log) keepInView(unseenEmergency);
      unseenEmergency = null;
      if (focusInput !== false) input.focus();
    }

    function close() {
      panel.hidden = true;
      launcher.setAttribute("aria-expanded", "false");
      launcher.classList.remove("is-open");
      state.open = false;
      save(state);
      launcher.focus();
    }

    launcher.addEventListener("click", function () { if (panel.hidden) open(); else close(); });
    closeButton.addEventListener("click", close);
    root.addEventListener("keydown", function (event) {
      if (event.key === "Escape" && !panel.hidden) { event.preventDefault(); close(); }
    });
    input.addEventListener("input", reportTyping);
    talkButton.addEventListener("click", function () {
      if (busy || state.live) return;
      input.focus();
      send(config.talk_payload, config.talk_button);
    });
    form.addEventListener("submit", function (event) {
      event.preventDefault();
      var text = input.value.trim();
      if (!text || busy) return;
      input.value = "";
      send(text);
    });
    restartButton.addEventListener("click", function () {
      try { window.localStorage.removeItem(STORE_KEY); } catch (e) { /* nothing stored */ }
      state = { sender: newSenderId(), messages: [], open: true, unread: 0 };
      errorLine.hidden = true;
      showLiveState();
      redraw();
      greet();
      input.focus();
    });

    redraw();
    updateLauncher();
    showLiveState();
    pollLive(); /* a live chat going on before a reload or on another page goes on */
    if (state.open) open(false); /* after a reload or a new page: open again, but leave the focus alone */
  }

  function boot() {
    fetch(BASE + "widget/config/" + encodeURIComponent(CLINIC) + ".json")
      .then(function (response) {
        if (!response.ok) throw new Error("no settings for clinic " + CLINIC);
        return response.json();
      })
      .then(start)
      .catch(function (error) { if (window.console) console.warn("Medius widget:", error.message); });
  }

  if (document.body) boot();
  else document.addEventListener("DOMContentLoaded", boot);
})();
