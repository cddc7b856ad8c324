/* Atlas — the approval queue: select several recommendations and approve or reject them in one go.
 * Each is counted against policy on its own; the per-recommendation results are listed, then the page reloads. */
(function () {
  "use strict";

  function start() {
    var bar = document.querySelector("[data-bulk-bar]");
    if (!bar || !window.Atlas) return;
    var A = window.Atlas;
    // The messages below come from the catalogue (they switch language with the page).
    A.loadCatalogue()
      .then(function () {
        refresh();
      })
      .catch(function () {});
    var boxes = function () {
      return Array.prototype.slice.call(document.querySelectorAll("input[data-bulk-id]"));
    };
    var all = bar.querySelector("[data-bulk-all]");
    var count = bar.querySelector("[data-bulk-count]");
    var reason = bar.querySelector("[data-bulk-reason]");
    var results = bar.querySelector("[data-bulk-results]");
    var buttons = Array.prototype.slice.call(bar.querySelectorAll("[data-bulk-verdict]"));
    var errorBox = bar.querySelector("[data-form-error]");

    function selected() {
      return boxes()
        .filter(function (b) {
          return b.checked;
        })
        .map(function (b) {
          return b.getAttribute("data-bulk-id");
        });
    }

    function refresh() {
      var n = selected().length;
      count.setAttribute("data-i18n-params", JSON.stringify({ count: n }));
      var text = A.t("approvals.bulk.selected", { count: n });
      if (text !== "approvals.bulk.selected") count.textContent = text; // before the catalogue: the page's own
      buttons.forEach(function (b) {
        b.disabled = n === 0;
      });
      if (all) all.checked = n > 0 && n === boxes().length;
    }

    function showError(text) {
      errorBox.textContent = text;
      errorBox.hidden = false;
    }

    document.addEventListener("change", function (event) {
      if (event.target === all) {
        boxes().forEach(function (b) {
          b.checked = all.checked;
        });
      }
      if (event.target === all || event.target.hasAttribute("data-bulk-id")) refresh();
    });

    buttons.forEach(function (button) {
      button.addEventListener("click", function () {
        var verdict = button.getAttribute("data-bulk-verdict");
        var ids = selected();
        errorBox.hidden = true;
        if (!ids.length) return;
        var text = (reason.value || "").trim();
        if (verdict === "reject" && !text) {
          showError(A.t("errors.reject_reason_required"));
          reason.focus();
          return;
        }
        A.setBusy(button, true);
        A.api("/api/approvals/bulk", "POST", { ids: ids, verdict: verdict, reason: text || null })
          .then(function (result) {
            A.setBusy(button, false);
            if (result.status === 401) return A.signInAgain();
            if (!result.ok) return showError(A.problemMessage(result));
            results.innerHTML = "";
            (result.data.results || []).forEach(function (r) {
              var row = document.querySelector('tr[data-id="' + r.id + '"]');
              var sku = row ? row.getAttribute("data-sku") : r.id;
              var line = A.el("li", { class: r.ok ? "is-ok" : "is-refused", "data-id": r.id, "data-ok": r.ok ? "true" : "false" }, [
                A.el("bdi", { class: "mono", dir: "ltr" }, [sku]),
                " — ",
                r.ok ? A.label("aipage.status." + r.status) : r.detail || "",
              ]);
              results.appendChild(line);
            });
            results.hidden = false;
            buttons.forEach(function (b) {
              b.disabled = true;
            });
            setTimeout(function () {
              window.location.reload();
            }, 2500);
          })
          .catch(function () {
            A.setBusy(button, false);
            showError(A.t("ui.js.error_network"));
          });
      });
    });
    refresh();
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})();
