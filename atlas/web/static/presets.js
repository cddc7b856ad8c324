/* Atlas — the preset wizard (/app/connectors/connect/{preset}). Vanilla, no dependencies, no build step.
 *
 * Connect: posts the base URL and the inputs to /api/presets/{id}/connect; a 422 is shown next to the field
 * it names (inputs.<name>, base_url) or above the form; nothing is stored until the system has answered.
 * Check: shows each endpoint's first page and what its first records become.
 * First sync: starts it, follows its progress, and shows its honest one-line summary.
 * Recommendations: waits for the analysis the sync starts, then links to what it found.
 * Text goes through window.Atlas.t and <span data-i18n>, so the language switch re-translates it.
 */
(function () {
  "use strict";

  var A = window.Atlas;
  var STEPS = ["connect", "check", "sync", "recommendations"];
  var FINISHED = { succeeded: true, needs_attention: true, failed: true };
  var SYNC_OUTCOMES = {
    succeeded: "presets.wizard.sync_succeeded",
    needs_attention: "presets.wizard.sync_needs_attention",
    failed: "presets.wizard.sync_failed",
  };
  var POLL_MS = 1000;
  var ANALYSIS_WAIT_MS = 180000;
  var SHOWN_FIELDS = {
    items: ["external_id", "sku", "name", "category", "unit_of_measure"],
    locations: ["code", "name", "type"],
    stock_balances: ["item_ref", "location_ref", "quantity", "reserved_qty"],
    stock_movements: ["occurred_at", "item_ref", "location_ref", "kind", "quantity"],
  };

  function $(root, selector) {
    return root.querySelector(selector);
  }

  function showStep(root, name) {
    var reached = STEPS.indexOf(name);
    root.querySelectorAll("[data-step]").forEach(function (li) {
      var index = STEPS.indexOf(li.getAttribute("data-step"));
      if (index === reached) li.setAttribute("aria-current", "step");
      else li.removeAttribute("aria-current");
      li.classList.toggle("is-done", index < reached);
    });
    root.querySelectorAll("[data-step-panel]").forEach(function (panel) {
      var index = STEPS.indexOf(panel.getAttribute("data-step-panel"));
      panel.hidden = index > reached || (index < reached && panel.tagName === "FORM");
    });
    var panel = $(root, '[data-step-panel="' + name + '"]');
    if (panel && panel.scrollIntoView) panel.scrollIntoView({ block: "start", behavior: "smooth" });
  }

  function clearErrors(root) {
    root.querySelectorAll("[data-field-error], [data-form-error]").forEach(function (box) {
      box.hidden = true;
      box.textContent = "";
    });
  }

  function showProblem(form, result) {
    var data = result.data || {};
    var field = data.field;
    var text = A.problemMessage(result);
    var box = field && form.querySelector('[data-field-error="' + field + '"]');
    if (box) {
      box.textContent = text;
      box.hidden = false;
      var details = box.closest("details");
      if (details) details.open = true;
      var input = box.parentNode.querySelector("input, select");
      if (input) input.focus();
      return;
    }
    var general = $(form, "[data-form-error]");
    general.textContent = text;
    general.hidden = false;
    general.focus();
  }

  function cell(value) {
    if (value === null || value === undefined || value === "") return A.el("span", { class: "muted" }, ["—"]);
    var text = typeof value === "object" ? JSON.stringify(value) : String(value);
    return A.el("bdi", { dir: "auto" }, [text]);
  }

  function previewTable(preview) {
    var fields = SHOWN_FIELDS[preview.resource] || [];
    var head = A.el("tr", {}, fields.map(function (name) {
      return A.el("th", { scope: "col" }, [A.label("mappings.field." + name)]);
    }).concat([A.el("th", { scope: "col" }, [A.label("presets.wizard.outcome")])]));
    var rows = preview.records.map(function (record) {
      var values = record.values || {};
      var outcome = record.values
        ? A.el("span", { class: "badge badge-success" }, [A.label("presets.wizard.mapped")])
        : record.skipped !== null && record.skipped !== undefined
          ? A.el("span", { class: "badge badge-neutral" }, [A.label("presets.wizard.skipped")])
          : A.el("span", { class: "badge badge-danger", title: (record.errors[0] || {}).code || "" }, [A.label("presets.wizard.set_aside")]);
      return A.el("tr", { "data-testid": "preview-row" }, fields.map(function (name) {
        return A.el("td", {}, [cell(values[name])]);
      }).concat([A.el("td", {}, [outcome])]));
    });
    return A.el("div", { class: "table-wrap" }, [
      A.el("table", { class: "table table-compact" }, [A.el("thead", {}, [head]), A.el("tbody", {}, rows)]),
    ]);
  }

  function renderCheck(root, connected) {
    var box = $(root, "[data-previews]");
    box.textContent = "";
    var byEndpoint = {};
    connected.previews.forEach(function (p) {
      byEndpoint[p.endpoint] = p;
    });
    connected.checks.forEach(function (check) {
      var preview = byEndpoint[check.endpoint];
      var title = A.el("h3", { class: "preview-title" }, [
        A.label("presets.resource." + check.resource),
        " ",
        A.el("code", { class: "mono", dir: "ltr" }, [check.endpoint]),
      ]);
      var counts = preview
        ? A.label("presets.wizard.preview_counts", {
            read: preview.record_count,
            mapped: preview.mapped,
            skipped: preview.skipped,
            failed: preview.failed,
          })
        : A.label("presets.wizard.records_read", { read: check.records });
      var children = [title, A.el("p", { class: "hint" }, [counts])];
      if (preview && preview.records.length) children.push(previewTable(preview));
      box.appendChild(A.el("section", { class: "preview-block", "data-testid": "preview-" + check.endpoint }, children));
    });
    A.setText($(root, "[data-check-lead]"), A.t("presets.wizard.check_lead", { name: connected.connector.name }));
    root.querySelectorAll("[data-connector-link]").forEach(function (a) {
      a.setAttribute("href", "/app/connectors/" + connected.connector.id);
    });
  }

  function waitForRecommendations(root, run, started) {
    var status = $(root, "[data-recommendations-status]");
    A.api("/api/analysis-runs?sync_run_id=" + encodeURIComponent(run.id), "GET").then(function (result) {
      var analysis = result.ok && result.data && result.data.items && result.data.items[0];
      if (analysis && analysis.status !== "running") {
        status.textContent = "";
        status.appendChild(
          analysis.status === "succeeded"
            ? A.label("presets.wizard.recommendations_ready", { count: analysis.recommendations })
            : A.label("presets.wizard.analysis_failed")
        );
        return;
      }
      if (Date.now() - started > ANALYSIS_WAIT_MS) {
        status.textContent = A.t("presets.wizard.analysis_slow");
        return;
      }
      status.textContent = A.t("presets.wizard.analysing");
      setTimeout(function () {
        waitForRecommendations(root, run, started);
      }, POLL_MS);
    });
  }

  function followSync(root, runId) {
    var status = $(root, "[data-sync-status]");
    A.api("/api/syncs/" + runId, "GET").then(function (result) {
      if (!result.ok) {
        status.textContent = A.problemMessage(result);
        return;
      }
      var run = result.data;
      if (!FINISHED[run.status]) {
        var read = 0;
        Object.keys(run.progress || {}).forEach(function (key) {
          read += run.progress[key].records || 0;
        });
        A.setText(status, A.t("presets.wizard.syncing", { records: read }));
        setTimeout(function () {
          followSync(root, runId);
        }, POLL_MS);
        return;
      }
      status.textContent = A.t(SYNC_OUTCOMES[run.status]);
      status.setAttribute("data-run-status", run.status);
      $(root, "[data-sync-summary]").textContent = run.summary || "";
      if (run.status === "failed") return;
      showStep(root, "recommendations");
      waitForRecommendations(root, run, Date.now());
    });
  }

  function init(root) {
    var form = $(root, "[data-preset-form]");
    var presetId = root.getAttribute("data-preset-id");
    var connectorId = null;
    form.addEventListener("submit", function (event) {
      event.preventDefault();
      clearErrors(root);
      var inputs = {};
      form.querySelectorAll("[data-preset-input]").forEach(function (input) {
        if (input.value !== "") inputs[input.name] = input.value;
      });
      var body = { inputs: inputs };
      var base = $(form, "[data-base-url]");
      if (base && base.value.trim()) body.base_url = base.value.trim();
      var name = $(form, "[data-connector-name]");
      if (name && name.value.trim()) body.name = name.value.trim();
      var button = $(form, "[type=submit]");
      var busy = $(form, "[data-connecting]");
      A.setBusy(button, true);
      busy.hidden = false;
      A.api("/api/presets/" + encodeURIComponent(presetId) + "/connect", "POST", body)
        .then(function (result) {
          A.setBusy(button, false);
          busy.hidden = true;
          if (result.status === 401) return A.signInAgain();
          if (!result.ok) return showProblem(form, result);
          connectorId = result.data.connector.id;
          renderCheck(root, result.data);
          showStep(root, "check");
        })
        .catch(function () {
          A.setBusy(button, false);
          busy.hidden = true;
          showProblem(form, {});
        });
    });
    $(root, '[data-testid="start-first-sync"]').addEventListener("click", function (event) {
      var button = event.currentTarget;
      var box = $(root, "[data-sync-error]");
      box.hidden = true;
      A.setBusy(button, true);
      A.api("/api/connectors/" + connectorId + "/sync", "POST", {}).then(function (result) {
        A.setBusy(button, false);
        if (!result.ok) {
          box.textContent = A.problemMessage(result);
          box.hidden = false;
          return;
        }
        button.hidden = true;
        showStep(root, "sync");
        followSync(root, result.data.id);
      });
    });
    root.setAttribute("data-ready", "");
  }

  function start() {
    var root = document.querySelector("[data-preset-wizard]");
    if (!root) return;
    // The messages the script writes come from the catalogue: load it first (a failure still lets the page work).
    A.loadCatalogue().then(
      function () {
        init(root);
      },
      function () {
        init(root);
      }
    );
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})();
