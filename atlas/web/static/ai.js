/* Atlas — the dashboard's AI cards. Vanilla, no dependencies.
 *
 * The dashboard holds a placeholder [data-ai-summary="/app/ai/summary"]; this loads that
 * server-rendered fragment (items at risk, pending recommendations, open anomalies, the last
 * sync and analysis) and puts it in place. The fragment is rendered in the language of the
 * cookie; if the page has switched language since, it is re-translated like the rest.
 */
(function () {
  "use strict";

  function currentLang() {
    return document.documentElement.getAttribute("lang") === "en" ? "en" : "ar";
  }

  function loadSummary(holder) {
    var url = holder.getAttribute("data-ai-summary");
    if (!url || url.charAt(0) !== "/" || url.charAt(1) === "/") return;
    fetch(url, { credentials: "same-origin", headers: { Accept: "text/html" } })
      .then(function (res) {
        if (!res.ok) throw new Error("HTTP " + res.status);
        return res.text();
      })
      .then(function (html) {
        var template = document.createElement("template");
        template.innerHTML = html.trim();
        var cards = template.content.querySelector("[data-ai-cards]");
        if (!cards) throw new Error("no cards");
        holder.replaceWith(cards);
        if (cards.getAttribute("data-lang") !== currentLang() && window.Atlas && window.Atlas.switchLang) {
          window.Atlas.switchLang(currentLang(), false);
        }
      })
      .catch(function () {
        holder.removeAttribute("aria-busy");
        holder.setAttribute("data-failed", "");
        var loading = holder.querySelector("[data-ai-loading]");
        var failed = holder.querySelector("[data-ai-failed]");
        if (loading) loading.hidden = true;
        if (failed) failed.hidden = false;
      });
  }

  function start() {
    document.querySelectorAll("[data-ai-summary]").forEach(loadSummary);
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})();
