// Progressive enhancement: tick down "minutes left" on a held seat. The page works without it.
(function () {
  function tick() {
    document.querySelectorAll("[data-expires-at]").forEach(function (el) {
      var left = Math.max(0, Date.parse(el.dataset.expiresAt) - Date.now());
      var minutes = Math.floor(left / 60000), seconds = Math.floor((left % 60000) / 1000);
      el.textContent = left > 0 ? minutes + " min " + (seconds < 10 ? "0" : "") + seconds + " s left" : "time is up";
    });
  }
  tick();
  setInterval(tick, 1000);
})();
