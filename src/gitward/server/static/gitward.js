// gitward web UI: confirmations, live refresh of marked regions, overview filter.
// Plain JavaScript, no build step; every page works without it too.
(function () {
  "use strict";
  document.documentElement.classList.add("js");

  // Forms with data-confirm ask first, then show that they are working.
  document.addEventListener("submit", function (event) {
    var form = event.target;
    var question = form.getAttribute("data-confirm");
    if (question && !window.confirm(question)) {
      event.preventDefault();
      return;
    }
    var button = form.querySelector("button[type=submit]");
    if (question && button) {
      setTimeout(function () { button.disabled = true; button.textContent += "…"; }, 0);
    }
  });

  // Overview filter: search text, sync state, health; applied to the rows in place.
  function filterRows() {
    var form = document.querySelector("[data-filter]");
    if (!form) return;
    var text = form.querySelector("[data-filter-q]").value.trim().toLowerCase();
    var sync = form.querySelector("[data-filter-sync]").value;
    var health = form.querySelector("[data-filter-health]").value;
    var rows = document.querySelectorAll("table.apps tbody tr");
    var shown = 0;
    rows.forEach(function (row) {
      var match = (!text || row.getAttribute("data-text").indexOf(text) >= 0) &&
        (!sync || row.getAttribute("data-sync") === sync) &&
        (!health || row.getAttribute("data-health") === health);
      row.hidden = !match;
      if (match) shown += 1;
    });
    var count = document.querySelector("[data-shown]");
    if (count) count.textContent = String(shown);
    var none = document.querySelector("[data-none]");
    if (none) none.hidden = shown > 0;
    var params = new URLSearchParams();
    if (text) params.set("q", text);
    if (sync) params.set("sync", sync);
    if (health) params.set("health", health);
    var query = params.toString();
    history.replaceState(null, "", location.pathname + (query ? "?" + query : ""));
  }

  function setFilter(name, value) {
    var field = document.querySelector("[data-filter-" + name + "]");
    if (field) { field.value = value; filterRows(); }
  }

  document.addEventListener("input", function (event) {
    if (event.target.closest("[data-filter]")) filterRows();
  });
  document.addEventListener("submit", function (event) {
    if (event.target.matches("[data-filter]")) { event.preventDefault(); filterRows(); }
  });
  document.addEventListener("click", function (event) {
    var link = event.target.closest("[data-set-sync],[data-set-health]");
    if (!link || event.ctrlKey || event.metaKey) return;
    event.preventDefault();
    if (link.hasAttribute("data-set-sync")) setFilter("sync", link.getAttribute("data-set-sync"));
    else setFilter("health", link.getAttribute("data-set-health"));
  });

  // Live regions: re-fetch each [data-live-src] every few seconds and swap it in
  // when it changed (not while the page is hidden, nor while focus is inside).
  var EVERY = Number(document.body.getAttribute("data-live-every")) || 4000;
  function refresh(region) {
    if (document.hidden || region.contains(document.activeElement) && document.activeElement !== document.body) {
      return Promise.resolve();
    }
    return fetch(region.getAttribute("data-live-src"), {
      credentials: "same-origin", headers: { "Accept": "text/html" }, cache: "no-store"
    }).then(function (response) {
      if (response.status === 401) { location.reload(); return null; }
      return response.ok ? response.text() : null;
    }).then(function (html) {
      if (html === null || html === region.getAttribute("data-live-last")) return;
      region.setAttribute("data-live-last", html);
      region.innerHTML = html;
      region.setAttribute("data-live-updated", String(Date.now()));
      filterRows();
    }).catch(function () { /* the agent restarts; try again next time */ });
  }
  function start() {
    var regions = document.querySelectorAll("[data-live-src]");
    if (!regions.length) return;
    setInterval(function () { regions.forEach(refresh); }, EVERY);
    document.addEventListener("visibilitychange", function () {
      if (!document.hidden) regions.forEach(refresh);
    });
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", function () { filterRows(); start(); });
  } else { filterRows(); start(); }
})();
