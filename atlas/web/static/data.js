/* Atlas — the data pages' script. Vanilla, no dependencies, no build step.
 *
 * 1. The connector page's syncs card: "Sync now", live progress while a run is
 *    queued or running (polls the newest run every second), the history table
 *    re-rendered when it ends, and the schedule form.
 * 2. The quarantine list: re-process with the current mapping (per connector,
 *    optionally one endpoint) and dismiss one record; the list refreshes in place.
 *
 * The inventory browser is plain GET forms and links; it needs nothing from here.
 * Text goes through window.Atlas.t (atlas.js) and is written as
 * <span data-i18n="key">, so the language switch re-translates it too.
 */
(function () {
  "use strict";

  var POLL_MS = 1000;
  // The order a sync reads the resources in (balances and movements refer to locations and items).
  var RESOURCE_ORDER = ["locations", "items", "stock_balances", "stock_movements"];
  var COUNT_NAMES = ["fetched", "inserted", "updated", "unchanged", "skipped", "quarantined"];
  var RUN_TONES = { queued: "neutral", running: "info", succeeded: "success", needs_attention: "warning", failed: "danger" };
  var SUMMARY_EXTRAS = ["skipped", "duplicates", "vanished"];
  var STATE_TONES = { waiting: "neutral", running: "info", done: "success", failed: "danger" };
  var SCHEDULE_PRESETS = [15, 30, 60, 360, 720, 1440, 10080];
  var OWN_REASONS = ["already_running", "scheduler_unavailable", "activity_failed"];

  // ---------------------------------------------------------------- helpers

  // Shared with atlas.js, which the page loads first.
  var A = window.Atlas;
  var currentLang = A.currentLang;
  var parseJSON = A.parseJSON;
  var el = A.el;
  var label = A.label;
  var api = A.api;
  var problemText = A.problemMessage;
  var signInAgain = A.signInAgain;
  var setBusy = A.setBusy;

  var t = A.t;
  var known = A.known;
  var timeEl = A.timeEl;

  /** A translated label when the catalogue knows `prefix + value`, else the raw value. */
  function labelOr(prefix, value) {
    if (value == null || value === "") return el("span", { class: "muted" }, ["—"]);
    return known(prefix + value) ? label(prefix + value) : el("span", { dir: "auto" }, [String(value)]);
  }

  function badge(prefix, tones, value, attr) {
    var attrs = { class: "badge badge-" + (tones[value] || "neutral") };
    attrs[attr || "data-status"] = value;
    return el("span", attrs, [labelOr(prefix, value)]);
  }

  function number(value) {
    return Number(value || 0).toLocaleString("en-US");
  }

  function numberEl(value) {
    return el("span", { class: "num", dir: "ltr" }, [number(value)]);
  }

  function pad(n) {
    return (n < 10 ? "0" : "") + n;
  }

  function durationEl(started, finished) {
    var a = new Date(started).getTime();
    var b = new Date(finished).getTime();
    if (!started || !finished || isNaN(a) || isNaN(b)) return el("span", { class: "muted" }, ["—"]);
    var secs = Math.max(0, Math.round((b - a) / 1000));
    var text =
      secs >= 3600
        ? Math.floor(secs / 3600) + ":" + pad(Math.floor((secs % 3600) / 60)) + ":" + pad(secs % 60)
        : Math.floor(secs / 60) + ":" + pad(secs % 60);
    return el("span", { class: "num", dir: "ltr" }, [text]);
  }

  function clear(node) {
    while (node.firstChild) node.removeChild(node.firstChild);
  }

  function showError(box, text) {
    if (!box) return;
    box.textContent = text;
    box.hidden = false;
  }

  function hideError(box) {
    if (!box) return;
    box.hidden = true;
    box.textContent = "";
  }

  // ---------------------------------------------------------------- syncs: rendering

  function isActive(run) {
    return !!run && (run.status === "queued" || run.status === "running");
  }

  function resourceRank(resource) {
    var index = RESOURCE_ORDER.indexOf(resource);
    return index < 0 ? 99 : index;
  }

  function countsTable(stats) {
    var resources = Object.keys(stats || {}).sort(function (a, b) {
      return resourceRank(a) - resourceRank(b) || (a < b ? -1 : a > b ? 1 : 0);
    });
    if (!resources.length) return el("span", { class: "muted" }, ["—"]);
    var head = el("tr", {}, [el("th", { scope: "col" }, [el("span", { class: "visually-hidden" }, [label("syncs.col.resource")])])]);
    COUNT_NAMES.forEach(function (name) {
      head.appendChild(el("th", { scope: "col" }, [label("syncs.count." + name)]));
    });
    var body = el("tbody");
    resources.forEach(function (resource) {
      var n = stats[resource] || {};
      var row = el("tr", { "data-resource": resource }, [el("th", { scope: "row" }, [labelOr("inventory.resource.", resource)])]);
      COUNT_NAMES.forEach(function (name) {
        var warn = name === "quarantined" && (n[name] || 0) > 0;
        row.appendChild(el("td", { class: "num" + (warn ? " count-warn" : ""), dir: "ltr", "data-count": name }, [number(n[name])]));
      });
      body.appendChild(row);
    });
    return el("table", { class: "table-mini", "data-counts": "" }, [el("thead", {}, [head]), body]);
  }

  function errorBlock(error) {
    if (!error) return el("span", { class: "muted" }, ["—"]);
    var box = el("div", { class: "run-error", "data-run-error": "" });
    if (error.endpoint) box.appendChild(el("code", { class: "mono", dir: "ltr" }, [error.endpoint]));
    var reason = error.reason || "";
    var text = el("span", { class: "run-error-reason" });
    if (OWN_REASONS.indexOf(reason) >= 0) text.appendChild(label("syncs.reason." + reason));
    else if (reason) text.appendChild(labelOr("connectors.reason.", reason));
    if (error.status) {
      text.appendChild(document.createTextNode(" "));
      text.appendChild(el("span", { class: "num", dir: "ltr" }, ["(HTTP " + error.status + ")"]));
    }
    box.appendChild(text);
    var detail = error.detail || "";
    if (detail) {
      var shown = detail.indexOf("errors.") === 0 && known(detail) ? label(detail) : document.createTextNode(detail);
      box.appendChild(el("span", { class: "check-detail muted", dir: "ltr" }, [shown]));
    }
    // What a 401 said the server expects; connectors.js (loaded on the connector page) words it.
    if (error.hint && A.authHint) box.appendChild(A.authHint(error.hint, error.reason));
    return box;
  }

  function versionsList(versions) {
    var keys = Object.keys(versions || {}).sort();
    if (!keys.length) return el("span", { class: "muted" }, ["—"]);
    return el(
      "ul",
      { class: "version-list", title: t("syncs.col.versions"), "data-i18n-attr": "title:syncs.col.versions" },
      keys.map(function (key) {
        var v = versions[key] || {};
        return el("li", {}, [
          el("code", { class: "mono", dir: "ltr" }, [key]),
          " ",
          el("span", { class: "num", dir: "ltr" }, ["v" + (v.version != null ? v.version : "?")]),
        ]);
      })
    );
  }

  function grouped(n) {
    return (n || 0).toLocaleString("en-US");
  }

  /** "N written, M set aside (reasons), K skipped" and, for a run that needs attention, why and what to do:
   * the same as _sync_section.html's run_summary macro. */
  function summaryBlock(summary) {
    var sep = function () { return label("syncs.summary.separator"); };
    var line = el("p", { class: "run-summary", "data-run-summary": "" }, [
      label("syncs.summary.written", { n: grouped(summary.written) }),
      sep(),
      label("syncs.summary.set_aside", { n: grouped(summary.set_aside) }),
    ]);
    var codes = Object.keys(summary.reasons || {});
    if (summary.set_aside && codes.length) {
      line.appendChild(document.createTextNode(" ("));
      codes.forEach(function (code, index) {
        if (index) line.appendChild(sep());
        var name = code === "plan_limit_records" ? label("syncs.summary.plan_limit")
          : known("quarantine.reason." + code) ? label("quarantine.reason." + code)
          : el("code", { class: "mono", dir: "ltr" }, [code]);
        line.appendChild(name);
        line.appendChild(document.createTextNode(": "));
        line.appendChild(el("span", { class: "num", dir: "ltr" }, [grouped(summary.reasons[code])]));
      });
      line.appendChild(document.createTextNode(")"));
    }
    SUMMARY_EXTRAS.forEach(function (name) {
      if (summary[name]) {
        line.appendChild(sep());
        line.appendChild(label("syncs.summary." + name, { n: grouped(summary[name]) }));
      }
    });
    var parts = [line];
    (summary.causes || []).forEach(function (cause) {
      parts.push(el("div", { class: "run-attention", role: "note", "data-run-attention": "", "data-reason": cause.key.split(".").pop() }, [
        el("strong", {}, [label("syncs.attention.title")]),
        el("p", {}, [label(cause.key, cause.params)]),
      ]));
    });
    return parts;
  }

  /** Mapping versions, the summary of a finished run, then the error when the run failed. */
  function detailsCell(run) {
    var parts = [];
    var hasVersions = Object.keys(run.mapping_versions || {}).length > 0;
    if (hasVersions) parts.push(versionsList(run.mapping_versions));
    if (run.summary) parts = parts.concat(summaryBlock(run.summary));
    if (run.error) parts.push(errorBlock(run.error));
    if (!parts.length) parts.push(el("span", { class: "muted" }, ["—"]));
    return parts;
  }

  function runRow(run) {
    var row = el("tr", { "data-testid": "sync-run", "data-run-id": run.id, "data-status": run.status, "data-trigger": run.trigger }, [
      el("td", { class: "nowrap" }, [timeEl(run.started_at)]),
      el("td", {}, [labelOr("syncs.trigger.", run.trigger)]),
      el("td", {}, [badge("syncs.status.", RUN_TONES, run.status)]),
      el("td", { class: "col-num" }, [durationEl(run.started_at, run.finished_at)]),
      el("td", {}, [countsTable(run.stats)]),
      el("td", { class: "run-details" }, detailsCell(run)),
    ]);
    // What the run set aside, beside its status and first in its details (static/quarantine.js).
    if (window.AtlasOutcomes) window.AtlasOutcomes.decorateRun(row, run);
    return row;
  }

  function progressRow(key, p) {
    var state = p.state || "waiting";
    return el("tr", { "data-endpoint": key, "data-state": state }, [
      el("td", {}, [el("code", { class: "mono", dir: "ltr" }, [key])]),
      el("td", {}, [labelOr("inventory.resource.", p.resource)]),
      el("td", { class: "col-num" }, [numberEl(p.records)]),
      el("td", { class: "col-num" }, [numberEl(p.pages)]),
      el("td", { class: "col-num" }, [numberEl(p.quarantined)]),
      el("td", {}, [badge("syncs.state.", STATE_TONES, state, "data-state")]),
    ]);
  }

  function scheduleKey(minutes) {
    if (!minutes) return { key: "syncs.schedule.off" };
    if (SCHEDULE_PRESETS.indexOf(minutes) >= 0) return { key: "syncs.schedule.preset." + minutes };
    // the noun agrees with the count by CLDR's rules (atlas.js: {n@plural.minute_oblique}), not by a hand-set bound
    return { key: "syncs.schedule.every_minutes", params: { n: minutes } };
  }

  // ---------------------------------------------------------------- syncs: behaviour

  function initSync(section) {
    var connectorId = section.getAttribute("data-connector-id");
    var button = section.querySelector('[data-testid="sync-now"]');
    var progress = section.querySelector('[data-testid="sync-progress"]');
    var errorBox = section.querySelector("[data-sync-error]");
    var timer = null;
    var failures = 0;

    function renderProgress(run) {
      progress.hidden = false;
      progress.setAttribute("data-run-id", run.id);
      progress.setAttribute("data-status", run.status);
      var status = progress.querySelector("[data-progress-status]");
      clear(status);
      status.appendChild(badge("syncs.status.", RUN_TONES, run.status));
      if (window.AtlasOutcomes) window.AtlasOutcomes.decorateStatus(status, run);
      var text = progress.querySelector("[data-progress-text]");
      clear(text);
      var key = isActive(run) ? "syncs.progress.running" : run.status === "failed" ? "syncs.progress.failed" : "syncs.progress.finished";
      text.appendChild(label(key));
      var rows = progress.querySelector("[data-progress-rows]");
      clear(rows);
      var endpoints = Object.keys(run.progress || {}).sort(function (a, b) {
        return resourceRank(run.progress[a].resource) - resourceRank(run.progress[b].resource) || (a < b ? -1 : a > b ? 1 : 0);
      });
      endpoints.forEach(function (endpoint) {
        rows.appendChild(progressRow(endpoint, run.progress[endpoint] || {}));
      });
      progress.querySelector("[data-progress-table]").hidden = endpoints.length === 0;
    }

    function renderRuns(runs) {
      var tbody = section.querySelector("[data-run-rows]");
      clear(tbody);
      runs.forEach(function (run) {
        tbody.appendChild(runRow(run));
      });
      section.querySelector("[data-runs-table]").hidden = runs.length === 0;
      var empty = section.querySelector("[data-runs-empty]");
      if (empty) empty.hidden = runs.length > 0;
    }

    function refreshQuarantineLink() {
      api("/api/quarantine?status=open&limit=1&connector_id=" + encodeURIComponent(connectorId), "GET").then(
        function (result) {
          if (!result.ok || !result.data) return;
          var total = result.data.total || 0;
          var link = section.querySelector('[data-testid="quarantine-link"]');
          if (!total) {
            if (link) link.parentNode.removeChild(link);
            return;
          }
          if (!link) {
            link = el("a", { class: "btn btn-outline btn-sm", href: "/app/quarantine?connector_id=" + encodeURIComponent(connectorId), "data-testid": "quarantine-link" }, [
              label("syncs.quarantine_link"),
              " ",
              el("span", { class: "badge badge-warning num", dir: "ltr", "data-quarantine-count": "" }),
            ]);
            var actions = section.querySelector(".sync-actions");
            actions.insertBefore(link, actions.firstChild);
          }
          link.querySelector("[data-quarantine-count]").textContent = number(total);
        },
        function () {}
      );
    }

    function reloadRuns() {
      api("/api/connectors/" + encodeURIComponent(connectorId) + "/syncs?limit=10", "GET").then(
        function (result) {
          if (result.ok && Array.isArray(result.data)) renderRuns(result.data);
        },
        function () {}
      );
    }

    function finished(run) {
      section.setAttribute("data-active", "false");
      if (button) {
        setBusy(button, false);
        button.removeAttribute("aria-disabled");
      }
      reloadRuns();
      refreshQuarantineLink();
      renderProgress(run);
    }

    function poll() {
      clearTimeout(timer);
      api("/api/connectors/" + encodeURIComponent(connectorId) + "/syncs?limit=1", "GET").then(
        function (result) {
          if (result.status === 401) {
            signInAgain();
            return;
          }
          var run = result.ok && Array.isArray(result.data) ? result.data[0] : null;
          if (!run) {
            timer = setTimeout(poll, POLL_MS * 2);
            return;
          }
          failures = 0;
          if (isActive(run)) {
            renderProgress(run);
            timer = setTimeout(poll, POLL_MS);
          } else {
            finished(run);
          }
        },
        function () {
          // a network blip: keep trying, more slowly
          failures += 1;
          timer = setTimeout(poll, Math.min(POLL_MS * (1 + failures), 10000));
        }
      );
    }

    if (button) {
      button.addEventListener("click", function (event) {
        event.preventDefault();
        if (button.classList.contains("is-busy")) return;
        hideError(errorBox);
        setBusy(button, true);
        api(button.getAttribute("data-sync-url"), "POST").then(
          function (result) {
            if (result.ok && result.data) {
              section.setAttribute("data-active", "true");
              renderProgress(result.data);
              timer = setTimeout(poll, POLL_MS);
              return;
            }
            if (result.status === 401) {
              signInAgain();
              return;
            }
            showError(errorBox, problemText(result));
            if (result.status === 409) {
              poll(); // a run is already going: follow it
            } else {
              setBusy(button, false);
              reloadRuns(); // a run that could not start is in the history, with its reason
            }
          },
          function () {
            setBusy(button, false);
            showError(errorBox, t("ui.js.error_network"));
          }
        );
      });
    }

    initSchedule(section);
    if (section.getAttribute("data-active") === "true") {
      if (button) setBusy(button, true);
      poll();
    }
  }

  function initSchedule(section) {
    var form = section.querySelector("[data-schedule-form]");
    if (!form) return;
    var holder = section.querySelector('[data-testid="sync-schedule"]');
    var preset = form.querySelector("[data-schedule-preset]");
    var custom = form.querySelector("[data-schedule-custom]");
    var minutesInput = form.querySelector('input[name="minutes"]');
    var saved = form.querySelector("[data-schedule-saved]");
    var errorBox = holder.querySelector("[data-form-error]");

    preset.addEventListener("change", function () {
      custom.hidden = preset.value !== "custom";
      saved.hidden = true;
      if (!custom.hidden) minutesInput.focus();
    });

    form.addEventListener("submit", function (event) {
      event.preventDefault();
      var submit = form.querySelector('[type="submit"]');
      if (submit.classList.contains("is-busy")) return;
      hideError(errorBox);
      saved.hidden = true;
      var minutes = preset.value === "custom" ? parseInt(minutesInput.value, 10) : parseInt(preset.value, 10);
      if (isNaN(minutes) || (minutes !== 0 && (minutes < 5 || minutes > 10080))) {
        showError(errorBox, t("syncs.schedule.bad_minutes"));
        minutesInput.setAttribute("aria-invalid", "true");
        return;
      }
      minutesInput.removeAttribute("aria-invalid");
      setBusy(submit, true);
      api(form.getAttribute("data-patch-url"), "PATCH", { sync_interval_minutes: minutes }).then(
        function (result) {
          setBusy(submit, false);
          if (result.ok) {
            var value = (result.data && result.data.sync_interval_minutes) || 0;
            holder.setAttribute("data-interval", String(value));
            var text = holder.querySelector("[data-schedule-text]");
            var chosen = scheduleKey(value);
            clear(text);
            text.appendChild(label(chosen.key, chosen.params));
            saved.hidden = false;
            return;
          }
          if (result.status === 401) {
            signInAgain();
            return;
          }
          showError(errorBox, problemText(result));
        },
        function () {
          setBusy(submit, false);
          showError(errorBox, t("ui.js.error_network"));
        }
      );
    });
  }

  // ---------------------------------------------------------------- quarantine

  /** Reloads the list section from the server (same URL, same filters) without reloading the page. */
  function refreshList(page) {
    return fetch(window.location.href, { credentials: "same-origin", headers: { Accept: "text/html" } })
      .then(function (res) {
        if (!res.ok) throw new Error("HTTP " + res.status);
        return res.text();
      })
      .then(function (html) {
        var fresh = new DOMParser().parseFromString(html, "text/html").querySelector("[data-quarantine-list]");
        var current = page.querySelector("[data-quarantine-list]");
        if (fresh && current) current.parentNode.replaceChild(document.importNode(fresh, true), current);
      });
  }

  function filterEndpointOptions(connectorSelect, endpointSelect) {
    var chosen = connectorSelect.value;
    Array.prototype.forEach.call(endpointSelect.options, function (option) {
      var owner = option.getAttribute("data-connector");
      var hide = owner != null && owner !== chosen;
      option.hidden = hide;
      option.disabled = hide;
      if (hide && option.selected) endpointSelect.value = "";
    });
  }

  function resultLine(data) {
    var line = el("span", { class: "reprocess-counts" }, [
      label("quarantine.reprocess.reprocessed"),
      " ",
      el("strong", { class: "num", dir: "ltr", "data-count": "reprocessed" }, [number(data.reprocessed)]),
      el("span", { class: "sep", "aria-hidden": "true" }, [" · "]),
      label("quarantine.reprocess.still_failing"),
      " ",
      el("strong", { class: "num", dir: "ltr", "data-count": "still_failing" }, [number(data.still_failing)]),
    ]);
    return line;
  }

  function initQuarantine(page) {
    var panel = page.querySelector("[data-reprocess-panel]");
    if (panel) {
      var connectorSelect = panel.querySelector("[data-reprocess-connector]");
      var endpointSelect = panel.querySelector("[data-reprocess-endpoint]");
      var button = panel.querySelector('[data-testid="reprocess"]');
      var result = panel.querySelector('[data-testid="reprocess-result"]');
      var errorBox = panel.querySelector("[data-form-error]");
      filterEndpointOptions(connectorSelect, endpointSelect);
      connectorSelect.addEventListener("change", function () {
        filterEndpointOptions(connectorSelect, endpointSelect);
      });
      button.addEventListener("click", function (event) {
        event.preventDefault();
        if (button.classList.contains("is-busy")) return;
        hideError(errorBox);
        result.hidden = true;
        var body = { connector_id: connectorSelect.value };
        if (endpointSelect.value) body.endpoint_key = endpointSelect.value;
        setBusy(button, true);
        api("/api/quarantine/reprocess", "POST", body).then(
          function (res) {
            setBusy(button, false);
            if (res.ok && res.data) {
              clear(result);
              result.appendChild(resultLine(res.data));
              result.setAttribute("data-reprocessed", String(res.data.reprocessed));
              result.setAttribute("data-still-failing", String(res.data.still_failing));
              result.className = "reprocess-result " + (res.data.still_failing ? "is-partial" : "is-ok");
              result.hidden = false;
              refreshList(page).catch(function () {});
              return;
            }
            if (res.status === 401) {
              signInAgain();
              return;
            }
            showError(errorBox, problemText(res));
          },
          function () {
            setBusy(button, false);
            showError(errorBox, t("ui.js.error_network"));
          }
        );
      });
    }

    page.addEventListener("click", function (event) {
      var dismiss = event.target.closest('[data-testid="dismiss"]');
      if (!dismiss || dismiss.classList.contains("is-busy")) return;
      event.preventDefault();
      window.Atlas.ask(t("quarantine.dismiss_confirm")).then(function (yes) {
        if (yes) dismissRecord(dismiss);
      });
    });

    function dismissRecord(dismiss) {
      setBusy(dismiss, true);
      api(dismiss.getAttribute("data-dismiss-url"), "POST").then(
        function (res) {
          if (res.ok) {
            refreshList(page).catch(function () {
              window.location.reload();
            });
            return;
          }
          setBusy(dismiss, false);
          if (res.status === 401) {
            signInAgain();
            return;
          }
          var toast = document.querySelector("[data-global-error]");
          if (toast) {
            toast.textContent = problemText(res);
            toast.hidden = false;
            setTimeout(function () {
              toast.hidden = true;
            }, 6000);
          }
        },
        function () {
          setBusy(dismiss, false);
        }
      );
    }
  }

  // ---------------------------------------------------------------- start

  function start() {
    // The catalogue lets script-written text follow the page's language; the page works without it.
    A.loadCatalogue().catch(function () {});
    var section = document.querySelector("[data-sync-section]");
    if (section && !section.hasAttribute("data-ready")) {
      section.setAttribute("data-ready", "true");
      initSync(section);
    }
    var quarantinePage = document.querySelector("[data-quarantine-page]");
    if (quarantinePage && !quarantinePage.hasAttribute("data-ready")) {
      quarantinePage.setAttribute("data-ready", "true");
      initQuarantine(quarantinePage);
    }
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})();
