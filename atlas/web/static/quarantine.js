/* Atlas — honest sync outcomes and the quarantine grouped by cause. Vanilla, no dependencies, no build step.
 *
 * 1. window.AtlasOutcomes: the markup of quarantine/_outcomes.html, for a run the syncs card re-renders from the
 *    API (static/data.js calls decorateRun and decorateStatus): "Succeeded, 573 set aside" beside the status, the
 *    most frequent causes, and a link to the quarantine filtered to that run.
 * 2. The quarantine page's groups: the fix in place (add a value to a lookup table, then re-process the group),
 *    re-processing one group after an edit of its rule; the groups and the list refresh in place.
 *
 * Text goes through window.Atlas (atlas.js) as <span data-i18n="key">, so the language switch re-translates it.
 */
(function () {
  "use strict";

  var A = window.Atlas;
  var el = A.el;
  var label = A.label;
  var known = A.known;
  var t = A.t;
  var api = A.api;
  var setBusy = A.setBusy;
  var HEADLINE_CAUSES = 3;

  function grouped(n) {
    return Number(n || 0).toLocaleString("en-US");
  }

  function clear(node) {
    while (node.firstChild) node.removeChild(node.firstChild);
  }

  // ---------------------------------------------------------------- outcomes (as quarantine/_outcomes.html)

  /** "Movement kind — unknown value ADJUSTMENT (573)". */
  function cause(c, withCount) {
    var parts = [];
    if (c.field) {
      parts.push(el("span", { class: "cause-field" }, [
        known("mappings.field." + c.field) ? label("mappings.field." + c.field) : el("code", { class: "mono", dir: "ltr" }, [c.field]),
      ]));
      parts.push(" — ");
    }
    parts.push(el("span", { class: "cause-reason" }, [
      known("outcomes.code." + c.code) ? label("outcomes.code." + c.code) : el("code", { class: "mono", dir: "ltr" }, [c.code]),
    ]));
    if (c.value) {
      parts.push(" ");
      parts.push(el("bdi", { class: "mono cause-value", dir: "ltr" }, [c.value]));
    }
    if (withCount !== false) {
      parts.push(" ");
      parts.push(el("span", { class: "cause-count" }, ["(", el("span", { class: "num", dir: "ltr" }, [grouped(c.count)]), ")"]));
    }
    return el("span", {
      class: "cause", "data-cause": "", "data-field": c.field || "", "data-code": c.code || "",
      "data-value": c.value || "", "data-count": String(c.count || 0),
    }, parts);
  }

  function setAsideBadge(summary) {
    return el("span", { class: "badge badge-warning", "data-set-aside-badge": "", "data-set-aside": String(summary.set_aside) }, [
      label("outcomes.headline.set_aside_badge", { n: grouped(summary.set_aside) }),
    ]);
  }

  /** The headline, the causes and the link to the quarantine filtered to the run; null when nothing was set aside. */
  function block(run) {
    var s = run.summary;
    if (!s || !s.set_aside) return null;
    var key = known("outcomes.headline." + run.status) ? "outcomes.headline." + run.status : "outcomes.headline.other";
    var list = el("ul", { class: "run-causes" });
    var top = s.top || [];
    if (top.length) {
      top.slice(0, HEADLINE_CAUSES).forEach(function (c) {
        list.appendChild(el("li", {}, [cause(c)]));
      });
      var more = (s.groups || top.length) - Math.min(top.length, HEADLINE_CAUSES);
      if (more > 0) list.appendChild(el("li", { class: "muted", "data-more-causes": String(more) }, [label("outcomes.headline.more", { n: grouped(more) })]));
    } else {
      Object.keys(s.reasons || {}).forEach(function (code) {
        list.appendChild(el("li", {}, [cause({ field: "", code: code, value: "", count: s.reasons[code] })]));
      });
    }
    return el("div", { class: "run-outcome", "data-run-outcome": "", "data-testid": "run-outcome", "data-set-aside": String(s.set_aside) }, [
      el("p", { class: "run-outcome-head" }, [el("strong", {}, [label(key, { n: grouped(s.set_aside) })]), ":"]),
      list,
      el("a", {
        class: "btn btn-outline btn-sm", "data-testid": "run-quarantine-link",
        href: "/app/quarantine?connector_id=" + encodeURIComponent(run.connector_id) + "&sync_run_id=" + encodeURIComponent(run.id),
      }, [label("outcomes.headline.review")]),
    ]);
  }

  /** A status badge's container gets "N set aside" beside it when the run set records aside. */
  function decorateStatus(container, run) {
    if (!container || !run.summary || !run.summary.set_aside) return;
    var old = container.querySelector("[data-set-aside-badge]");
    if (old) old.parentNode.removeChild(old);
    container.appendChild(document.createTextNode(" "));
    container.appendChild(setAsideBadge(run.summary));
  }

  /** A run row written by data.js: the set-aside badge beside the status, the outcome first in the details. */
  function decorateRun(row, run) {
    var cells = row.children;
    if (cells.length < 6) return;
    cells[2].classList.add("run-status");
    decorateStatus(cells[2], run);
    var outcome = block(run);
    if (outcome) cells[5].insertBefore(outcome, cells[5].firstChild);
  }

  window.AtlasOutcomes = { cause: cause, block: block, decorateRun: decorateRun, decorateStatus: decorateStatus };

  // ---------------------------------------------------------------- the quarantine's groups

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

  /** Reloads the groups and the record list from the server (same URL, same filters) without reloading the page. */
  function refresh(page) {
    return fetch(window.location.href, { credentials: "same-origin", headers: { Accept: "text/html" } })
      .then(function (res) {
        if (!res.ok) throw new Error("HTTP " + res.status);
        return res.text();
      })
      .then(function (html) {
        var fresh = new DOMParser().parseFromString(html, "text/html");
        ["[data-groups-body]", "[data-quarantine-list]"].forEach(function (selector) {
          var next = fresh.querySelector(selector);
          var current = page.querySelector(selector);
          if (next && current) current.parentNode.replaceChild(document.importNode(next, true), current);
        });
      });
  }

  function count(name, value) {
    return el("strong", { class: "num", dir: "ltr", "data-count": name }, [grouped(value)]);
  }

  /** What a fix or a re-process did: the version saved, how many records were loaded, how many remain. */
  function resultLine(data) {
    var parts = [];
    if (data.version != null) {
      parts.push(label("outcomes.fix.saved", { version: data.version }));
      parts.push(" ");
    }
    parts.push(label("outcomes.fix.loaded"), " ", count("reprocessed", data.reprocessed));
    parts.push(el("span", { class: "sep", "aria-hidden": "true" }, [" · "]));
    parts.push(label("outcomes.fix.remaining"), " ", count("remaining", data.remaining));
    if (data.still_failing && data.still_failing !== data.remaining) {
      parts.push(el("span", { class: "sep", "aria-hidden": "true" }, [" · "]));
      parts.push(label("outcomes.fix.still_failing"), " ", count("still_failing", data.still_failing));
    }
    return parts;
  }

  function groupOf(row) {
    return A.parseJSON(row.getAttribute("data-group"), null);
  }

  function run(page, button, url, body) {
    var section = page.querySelector("[data-quarantine-groups]");
    var result = section.querySelector("[data-testid='group-result']");
    var errorBox = section.querySelector("[data-groups-error]");
    hideError(errorBox);
    result.hidden = true;
    setBusy(button, true);
    api(url, "POST", body).then(
      function (res) {
        setBusy(button, false);
        if (res.ok && res.data) {
          clear(result);
          resultLine(res.data).forEach(function (part) {
            result.appendChild(typeof part === "string" ? document.createTextNode(part) : part);
          });
          result.setAttribute("data-reprocessed", String(res.data.reprocessed));
          result.setAttribute("data-remaining", String(res.data.remaining));
          result.setAttribute("data-still-failing", String(res.data.still_failing));
          if (res.data.version != null) result.setAttribute("data-version", String(res.data.version));
          result.className = "reprocess-result " + (res.data.remaining ? "is-partial" : "is-ok");
          result.hidden = false;
          refresh(page).catch(function () {});
          return;
        }
        if (res.status === 401) {
          A.signInAgain();
          return;
        }
        showError(errorBox, A.problemMessage(res));
      },
      function () {
        setBusy(button, false);
        showError(errorBox, t("ui.js.error_network"));
      }
    );
  }

  function initGroups(page) {
    page.addEventListener("click", function (event) {
      var button = event.target.closest("[data-group-action]");
      if (!button || button.classList.contains("is-busy")) return;
      var row = button.closest("[data-testid='quarantine-group']");
      var group = row && groupOf(row);
      if (!group) return;
      event.preventDefault();
      if (button.getAttribute("data-group-action") === "reprocess") {
        run(page, button, "/api/quarantine/groups/reprocess", group);
        return;
      }
      var input = row.querySelector("[data-canonical]");
      var canonical = input ? input.value.trim() : "";
      if (!canonical) {
        showError(page.querySelector("[data-groups-error]"), t("outcomes.fix.need_choice"));
        if (input) input.focus();
        return;
      }
      run(page, button, "/api/quarantine/groups/lookup", {
        connector_id: group.connector_id,
        endpoint_key: group.endpoint_key,
        field: group.field,
        value: group.value,
        canonical: canonical,
      });
    });
  }

  function start() {
    var page = document.querySelector("[data-quarantine-page]");
    if (page && page.querySelector("[data-quarantine-groups]") && !page.hasAttribute("data-groups-ready")) {
      page.setAttribute("data-groups-ready", "true");
      initGroups(page);
    }
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})();
