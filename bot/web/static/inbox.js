/* The lead list, live: new and changed leads appear without a reload (server-sent events),
   announced in a polite live region, with an optional chime for priority leads. */
(function () {
  "use strict";
  var region = document.getElementById("lead-region");
  if (!region || !window.EventSource) return;
  var live = document.getElementById("live");
  var sound = document.getElementById("sound");
  var KEY = "medius-inbox-sound";
  try { sound.checked = window.localStorage.getItem(KEY) === "on"; } catch (e) { /* storage blocked */ }
  sound.addEventListener("change", function () {
    try { window.localStorage.setItem(KEY, sound.checked ? "on" : "off"); } catch (e) { /* ignore */ }
  });

  function chime() {
    var Context = window.AudioContext || window.webkitAudioContext;
    if (!Context) return;
    var context = new Context();
    [880, 660].forEach(function (hz, i) {
      var tone = context.createOscillator(), gain = context.createGain();
      tone.frequency.value = hz;
      gain.gain.value = 0.15;
      tone.connect(gain); gain.connect(context.destination);
      tone.start(context.currentTime + i * 0.25);
      tone.stop(context.currentTime + i * 0.25 + 0.2);
    });
  }

  function refresh(detail) {
    var url = new URL(window.location.href);
    url.searchParams.set("partial", "1");
    fetch(url.toString(), { credentials: "same-origin", headers: { "Accept": "text/html" } })
      .then(function (response) {
        if (response.redirected || !response.ok) { window.location.reload(); return null; }
        return response.text();
      })
      .then(function (html) {
        if (html === null) return;
        var holder = document.createElement("div");
        holder.innerHTML = html;
        var fresh = holder.querySelector("#lead-region");
        if (!fresh) return;
        region.replaceWith(fresh);
        region = fresh;
        if (detail.live) {
          live.textContent = "New live chat request.";
          if (sound.checked) chime();
        } else if (detail.new) {
          live.textContent = detail.priority ? "New priority lead received." : "New lead received.";
          if (detail.priority && sound.checked) chime();
        } else {
          live.textContent = "Leads updated.";
        }
      })
      .catch(function () { live.textContent = "Could not refresh the list. Reload the page."; });
  }

  var source = new EventSource("/inbox/events");
  source.addEventListener("leads", function (event) {
    var detail = {};
    try { detail = JSON.parse(event.data); } catch (e) { /* keep defaults */ }
    refresh(detail);
  });
  source.addEventListener("logout", function () { source.close(); window.location.reload(); });
})();
