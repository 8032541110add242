/* The clinic settings page: the widget colour's contrast with its white text, checked as the admin types (the
   server checks it again on saving, with the same 4.5:1), and the embed code's copy button. */
(function () {
  "use strict";
  var MIN = 4.5;  // WCAG 2.1 AA for normal text, as bot/core/clinics.py

  function channel(hex) {
    var value = parseInt(hex, 16) / 255;
    return value <= 0.03928 ? value / 12.92 : Math.pow((value + 0.055) / 1.055, 2.4);
  }

  function contrastWithWhite(colour) {
    var luminance = 0.2126 * channel(colour.substr(1, 2)) + 0.7152 * channel(colour.substr(3, 2)) +
      0.0722 * channel(colour.substr(5, 2));
    return 1.05 / (luminance + 0.05);
  }

  var input = document.querySelector(".colour-input");
  var check = document.getElementById("colour-check");
  if (input && check) {
    var swatch = check.querySelector(".swatch"), words = check.querySelector(".colour-words");
    var show = function () {
      var colour = input.value.trim();
      if (!/^#[0-9a-fA-F]{6}$/.test(colour)) {
        swatch.hidden = true;
        words.textContent = "Write the colour as # and six hex digits, like #1d5c8c.";
        check.className = "colour-check bad";
        return;
      }
      var ratio = contrastWithWhite(colour);
      swatch.hidden = false;
      swatch.style.backgroundColor = colour;
      words.textContent = ratio >= MIN
        ? "White text on it: contrast " + ratio.toFixed(1) + ":1, easy to read."
        : "White text on it: contrast " + ratio.toFixed(1) + ":1, below " + MIN + ":1. Choose a darker colour.";
      check.className = "colour-check " + (ratio >= MIN ? "good" : "bad");
    };
    input.addEventListener("input", show);
    show();
  }

  var copy = document.getElementById("copy-embed");
  var code = document.getElementById("embed-code");
  var done = document.getElementById("copy-done");
  if (copy && code) {
    copy.addEventListener("click", function () {
      var said = function () { done.textContent = "Copied."; };
      if (navigator.clipboard && navigator.clipboard.writeText) {
        navigator.clipboard.writeText(code.value).then(said, function () {
          code.select();
          done.textContent = "Select the code and copy it with Ctrl+C.";
        });
      } else {
        code.select();
        try { document.execCommand("copy"); said(); } catch (e) { done.textContent = "Select the code and copy it."; }
      }
    });
  }
})();
