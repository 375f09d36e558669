// Progressive enhancement only: every page works without this file.
(function () {
  // 1. Countdowns on held seats: "23 h 59 min left (until tomorrow, 10:34 AM)", ticking.
  function fill(template, values) {
    return template.replace(/%\((\w+)\)d/g, function (_, key) { return String(values[key]); });
  }
  function tick() {
    document.querySelectorAll(".countdown[data-expires-at]").forEach(function (el) {
      var left = Math.max(0, Date.parse(el.dataset.expiresAt) - Date.now());
      var minutes = Math.floor(left / 60000), hours = Math.floor(minutes / 60);
      var text;
      if (left <= 0) text = el.dataset.up || "";
      else if (hours > 0) text = fill(el.dataset.hm, { hours: hours, minutes: minutes % 60 });
      else text = fill(minutes === 1 ? el.dataset.m1 : el.dataset.mn, { minutes: minutes });
      if (left > 0 && el.dataset.until) text = el.dataset.until.replace("%(left)s", text);
      if (text && el.textContent !== text) el.textContent = text;
    });
  }
  tick();
  setInterval(tick, 1000);

  // 1b. A form sent back with errors: keyboard and screen-reader users start at the summary.
  var summary = document.querySelector('[role="alert"][tabindex="-1"]');
  if (summary) summary.focus();

  // 2. Times in the visitor's own zone: tell the server the browser's zone (a cookie), and
  // show the page again once if it guessed another zone. A zone chosen on the page or in a
  // member's profile always wins, and the reload happens at most once per zone.
  try {
    var zone = Intl.DateTimeFormat().resolvedOptions().timeZone;
    if (!zone) return;
    // IANA names are cookie-safe as they are ("America/Los_Angeles", "Etc/GMT+5").
    if (!/^[A-Za-z0-9_+\-\/]+$/.test(zone)) return;
    // 3. Signing up: the time zone starts at the browser's when it is a US zone (Florida's
    // panhandle is on Central time, and the form asks Floridians to choose). Not when the
    // form came back with an error (the person is answering it now), never a zone abroad
    // (that is theirs to pick), and never on the profile, where an untouched "usual for my
    // state" follows the member when they move.
    var signupZone = document.querySelector('form[action$="/accounts/signup/"] select[name="time_zone"]');
    var suggested = signupZone ? (signupZone.getAttribute("data-suggest") || "").split(" ") : [];
    if (signupZone && !signupZone.value && !summary && suggested.indexOf(zone) >= 0) {
      signupZone.value = zone;
    }
    var known = document.cookie.split("; ").some(function (c) { return c === "tz=" + zone; });
    if (!known) {
      document.cookie = "tz=" + zone + "; path=/; max-age=31536000; SameSite=Lax";
      var note = document.querySelector("[data-zone-note]");
      if (note && note.dataset.zoneSource === "guess" && note.dataset.zone !== zone) location.reload();
    }
  } catch (e) { /* an old browser: the server's zone stands, and the page says which */ }
})();
