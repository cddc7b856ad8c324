/* Atlas — the discovery pages' script. Vanilla, no dependencies, no build step.
 *
 * 1. "Other REST API" (/app/connectors/new/other): base URL and authentication,
 *    Discover (POST /api/discovery), then Apply all (POST /api/discovery/adopt)
 *    or one endpoint, and on to the new connector's page.
 * 2. A connector's discovery (/app/connectors/{id}/discover): Discover
 *    (POST /api/connectors/{id}/discover), then Apply all or one endpoint
 *    (POST /api/connectors/{id}/discover/adopt: a connector update and new
 *    mapping versions).
 *
 * The proposal is shown as it is: endpoints, pagination (and whether a second
 * page verified it), the mapping with a confidence and the reasons for each
 * field, sample records. The credential typed on the start page stays in the
 * form and goes only to the API. Text is written as <span data-i18n="key">, so
 * the language switch re-translates it.
 */
(function () {
  "use strict";

  var A = window.Atlas;
  var el = A.el;
  var label = A.label;
  var known = A.known;
  var api = A.api;
  var t = A.t;
  var setBusy = A.setBusy;
  var problemText = A.problemMessage;
  var RESOURCES = ["items", "locations", "stock_balances", "stock_movements"];
  var LEVEL_TONES = { high: "success", medium: "warning", low: "danger" };

  function code(text, cls) {
    return el("code", { class: "mono" + (cls ? " " + cls : ""), dir: "ltr" }, [String(text)]);
  }

  function clear(node) {
    while (node.firstChild) node.removeChild(node.firstChild);
    return node;
  }

  function known_or_code(key, raw) {
    return known(key) ? label(key) : code(raw);
  }

  function ruleText(rule) {
    if (!rule || typeof rule !== "object") return "—";
    var text = rule.paths ? rule.paths.join(" | ") : String(rule.path || "");
    (rule.transforms || []).forEach(function (tr) {
      text += " → " + tr.op + (tr.op === "lookup" ? "(" + Object.keys(tr.table || {}).length + ")" : "");
    });
    return text;
  }

  function fact(titleKey, content) {
    return el("div", {}, [el("dt", {}, [label(titleKey)]), el("dd", {}, content)]);
  }

  function reasonList(reasons) {
    var list = el("ul", { class: "evidence-list" });
    (reasons || []).forEach(function (r) {
      if (r && r.key) list.appendChild(el("li", { dir: "auto" }, [known(r.key) ? label(r.key, r.params || {}) : code(r.key)]));
    });
    return list;
  }

  function mappingTable(r) {
    var spec = r.suggested_mapping;
    var fields = (spec && spec.fields) || {};
    var confidence = r.confidence || {};
    var names = Object.keys(confidence);
    Object.keys(fields).forEach(function (n) {
      if (names.indexOf(n) < 0) names.push(n);
    });
    var body = el("tbody");
    names.forEach(function (name) {
      var c = confidence[name] || {};
      var level = c.level || "low";
      body.appendChild(
        el("tr", { "data-field": name, "data-level": level }, [
          el("td", {}, [known_or_code("mappings.field." + name, name)]),
          el("td", {}, [fields[name] ? code(ruleText(fields[name])) : el("span", { class: "muted" }, ["—"])]),
          el("td", {}, [
            el("span", { class: "badge badge-" + (LEVEL_TONES[level] || "neutral"), "data-testid": "confidence" }, [label("discovery.level." + level)]),
          ]),
          el("td", {}, [reasonList(c.reasons)]),
        ])
      );
    });
    return el("div", { class: "table-wrap" }, [
      el("table", { class: "table table-compact discovered-mapping" }, [
        el("thead", {}, [
          el("tr", {}, [
            el("th", { scope: "col" }, [label("discovery.page.field")]),
            el("th", { scope: "col" }, [label("discovery.page.source")]),
            el("th", { scope: "col" }, [label("discovery.page.confidence")]),
            el("th", { scope: "col" }, [label("discovery.page.why")]),
          ]),
        ]),
        body,
      ]),
    ]);
  }

  function paginationFacts(p) {
    p = p || {};
    var style = p.style || "unknown";
    var content = [known_or_code("discovery.style." + style, style)];
    if (p.verified) {
      content.push(el("span", { class: "badge badge-" + (p.verified === "second_page" ? "success" : "neutral"), "data-verified": p.verified }, [label("discovery.verified." + p.verified)]));
    }
    if (p.settings) {
      var pairs = Object.keys(p.settings)
        .filter(function (k) {
          return p.settings[k] != null && k !== "kind";
        })
        .map(function (k) {
          return k + "=" + p.settings[k];
        });
      if (pairs.length) content.push(el("span", { class: "cell-sub" }, [code(pairs.join("  "))]));
    }
    return fact("discovery.pagination", content);
  }

  function incrementalFact(inc) {
    var content = [
      code(inc.start_param + (inc.end_param ? " / " + inc.end_param : "") + " (" + inc.format + ")"),
      el("span", { class: "badge badge-" + (inc.applied ? "success" : "neutral") }, [label(inc.applied ? "discovery.incremental.applied" : "discovery.incremental.not_applied")]),
      reasonList(inc.reasons),
    ];
    return fact("discovery.incremental.title", content);
  }

  function samplesBlock(records) {
    if (!records || !records.length) return null;
    var details = el("details", { class: "discovered-samples" }, [el("summary", {}, [label("discovery.page.samples")])]);
    records.forEach(function (record) {
      details.appendChild(el("pre", { class: "mono json-sample", dir: "ltr" }, [JSON.stringify(record, null, 2).slice(0, 2000)]));
    });
    return details;
  }

  function resourceCard(r, ctx) {
    var badges = el("div", { class: "discovered-badges" }, [
      el("span", { class: "badge badge-neutral" }, [known_or_code("connectors.resource." + r.resource, r.resource || "?")]),
      el("span", { class: "badge badge-info" }, [known_or_code("discovery.source." + r.source, r.source)]),
      el("span", { class: "badge badge-" + (r.proposed ? "success" : "warning"), "data-proposed": r.proposed ? "true" : "false" }, [
        label(r.proposed ? "discovery.page.proposed" : "discovery.page.not_proposed"),
      ]),
    ]);
    var card = el("article", { class: "card discovered", "data-testid": "discovered-resource", "data-resource": r.resource || "", "data-path": r.path, "data-endpoint-key": r.endpoint_key || "" }, [
      el("div", { class: "card-title-row" }, [el("h2", { class: "card-title" }, [code(r.path, "discovered-path")]), badges]),
    ]);
    if (r.error) {
      card.appendChild(el("p", { class: "field-error" }, [label("discovery.page.error"), " ", known_or_code("connectors.reason." + r.error, r.error)]));
    }
    var facts = el("dl", { class: "details-list discovered-facts" });
    var methods = el("span", { class: "type-chips" });
    (r.methods || []).forEach(function (m) {
      methods.appendChild(el("span", { class: "chip", dir: "ltr" }, [String(m)]));
    });
    facts.appendChild(fact("discovery.methods", [methods]));
    facts.appendChild(paginationFacts(r.pagination));
    facts.appendChild(
      fact("discovery.record_path", [
        code(r.record_path || "—"),
        el("span", { class: "cell-sub muted" }, [label("discovery.page.records_read", { count: r.record_count || 0, pages: r.pages_read || 0 }), r.complete ? label("discovery.page.complete") : null]),
      ])
    );
    var params = r.params || {};
    if (Object.keys(params).length) {
      facts.appendChild(fact("discovery.page.params", [code(Object.keys(params).map(function (k) { return k + "=" + params[k]; }).join("&"))]));
    }
    if (r.incremental) facts.appendChild(incrementalFact(r.incremental));
    card.appendChild(facts);
    if (r.suggested_mapping || Object.keys(r.confidence || {}).length) {
      card.appendChild(el("h3", { class: "subsection-title" }, [label("discovery.page.mapping_title")]));
      card.appendChild(mappingTable(r));
    }
    if ((r.unmapped_required || []).length) {
      var warn = el("p", { class: "field-error", "data-testid": "needs-person" }, [label("discovery.page.needs_person")]);
      r.unmapped_required.forEach(function (name) {
        warn.appendChild(document.createTextNode(" "));
        warn.appendChild(known_or_code("mappings.field." + name, name));
      });
      card.appendChild(warn);
    }
    var samples = samplesBlock(r.samples);
    if (samples) card.appendChild(samples);
    if (r.proposed) {
      var one = el("button", { type: "button", class: "btn btn-secondary btn-sm", "data-apply-one": r.endpoint_key, "data-testid": "apply-one" }, [label("discovery.apply.one")]);
      one.addEventListener("click", function () {
        ctx.apply([r.endpoint_key], one);
      });
      var actions = el("div", { class: "form-actions" }, [one]);
      if (ctx.mode === "connector" && r.suggested_mapping && ctx.endpoints[r.endpoint_key]) actions.appendChild(reviewButton(r, ctx));
      if (ctx.mode === "connector" && Object.prototype.hasOwnProperty.call(ctx.mapped, r.endpoint_key)) {
        actions.appendChild(el("span", { class: "hint" }, [label("discovery.suggestion.already_mapped", { version: ctx.mapped[r.endpoint_key] })]));
      }
      card.appendChild(actions);
    }
    return card;
  }

  /** Opens the suggestion in the mapping editor (sessionStorage, read by mappings.js) instead of applying it. */
  function reviewButton(r, ctx) {
    var button = el("button", { type: "button", class: "btn btn-ghost btn-sm", "data-testid": "use-suggestion", "data-endpoint-key": r.endpoint_key }, [
      label("discovery.suggestion.review"),
    ]);
    button.addEventListener("click", function () {
      try {
        window.sessionStorage.setItem("atlas.mapping.suggestion." + ctx.connectorId + "." + r.endpoint_key, JSON.stringify(r.suggested_mapping));
      } catch (e) {
        /* full or disabled storage: the editor opens without the suggestion */
      }
      window.location.assign("/app/connectors/" + encodeURIComponent(ctx.connectorId) + "/mappings/" + encodeURIComponent(r.endpoint_key) + "?suggestion=1");
    });
    return button;
  }

  function summary(report) {
    var box = el("div", { class: "discovery-summary" });
    if (report.description) {
      box.appendChild(el("p", {}, [label("discovery.page.described", { kind: report.description.kind }), " ", code(report.description.url)]));
    } else {
      box.appendChild(el("p", {}, [label("discovery.page.probed")]));
    }
    box.appendChild(el("p", { class: "muted" }, [label("discovery.page.requests", { count: report.requests || 0 })]));
    if (report.unreachable) {
      box.appendChild(el("p", { class: "field-error", "data-testid": "unreachable" }, [label("discovery.page.unreachable")]));
    }
    if (report.refused) {
      var refused = el("p", { class: "field-error", "data-testid": "refused" }, [label("discovery.page.refused", { status: report.refused })]);
      if (report.auth_hint) {
        refused.appendChild(document.createTextNode(" "));
        refused.appendChild(label("discovery.page.auth_hint"));
        refused.appendChild(document.createTextNode(" "));
        refused.appendChild(el("code", { class: "mono", dir: "ltr", "data-testid": "auth-hint" }, [report.auth_hint]));
      }
      box.appendChild(refused);
    }
    return box;
  }

  function render(root, report, ctx) {
    var results = root.querySelector("[data-discover-results]");
    clear(results);
    results.appendChild(summary(report));
    var chosen = (report.resources || []).filter(function (r) {
      return r.chosen;
    });
    chosen.sort(function (a, b) {
      return RESOURCES.indexOf(a.resource) - RESOURCES.indexOf(b.resource);
    });
    if (!chosen.length) results.appendChild(el("p", { class: "empty" }, [label("discovery.page.nothing")]));
    chosen.forEach(function (r) {
      results.appendChild(resourceCard(r, ctx));
    });
    var others = (report.resources || []).filter(function (r) {
      return !r.chosen;
    });
    if (others.length) {
      var list = el("ul", { class: "discovered-others" });
      others.forEach(function (r) {
        list.appendChild(el("li", {}, [code(r.path), " ", r.resource ? known_or_code("connectors.resource." + r.resource, r.resource) : null, r.error ? code(r.error, "muted") : null]));
      });
      results.appendChild(el("details", {}, [el("summary", {}, [label("discovery.page.also_found")]), list]));
    }
    var bar = root.querySelector("[data-apply-bar]");
    var proposal = report.proposal || { endpoints: [] };
    bar.hidden = !proposal.endpoints.length;
    clear(bar.querySelector("[data-apply-lead]")).appendChild(label(ctx.mode === "new" ? "discovery.apply.lead" : "discovery.apply.lead_existing"));
  }

  function showError(root, content) {
    var box = root.querySelector("[data-discover-error]");
    clear(box).appendChild(typeof content === "string" ? document.createTextNode(content) : content);
    box.hidden = false;
    box.focus();
  }

  function status(root, key) {
    var node = root.querySelector("[data-discover-status]");
    if (!key) {
      node.hidden = true;
      return;
    }
    clear(node).appendChild(label(key));
    node.hidden = false;
  }

  /** The start page's form as the API's body: base URL and authentication (the secret only where the kind has one). */
  function typed(form) {
    var value = function (name) {
      var input = form.querySelector('[name="' + name + '"]');
      return input ? input.value.trim() : "";
    };
    var kind = value("auth_kind") || "none";
    var auth = { kind: kind };
    var secret = form.querySelector('[name="secret"]').value;
    if (kind === "api_key") {
      auth.api_key = secret;
      if (value("key_name")) auth.key_name = value("key_name");
    } else if (kind === "bearer") auth.token = secret;
    else if (kind === "basic") {
      auth.username = value("username");
      auth.password = secret;
    } else if (kind === "header") {
      auth.scheme = value("scheme");
      auth.credential = secret;
    }
    return { base_url: value("base_url"), auth: auth, name: value("name") };
  }

  function initPage(root) {
    var model = A.parseJSON((root.querySelector("script[data-discover-model]") || {}).textContent, {}) || {};
    var form = root.querySelector("[data-start-form]");
    var button = root.querySelector("[data-discover]");
    var applyAll = root.querySelector("[data-apply-all]");
    var done = root.querySelector("[data-apply-done]");
    var report = null;
    var sent = null;
    var ctx = { mode: model.mode || "connector", connectorId: model.connector_id, mapped: model.mapped || {}, endpoints: {} };
    (model.endpoints || []).forEach(function (e) {
      ctx.endpoints[e.key] = e;
    });

    if (form) {
      var kindSelect = form.querySelector("[data-auth-kind]");
      var toggle = function () {
        form.querySelectorAll("[data-show-if]").forEach(function (node) {
          node.hidden = node.getAttribute("data-show-if").split(" ").indexOf(kindSelect.value) < 0;
        });
      };
      kindSelect.addEventListener("change", toggle);
      toggle();
    }

    function failed(result) {
      if (result.status === 401) {
        A.signInAgain();
        return;
      }
      showError(root, problemText(result));
    }

    function discover(event) {
      if (event) event.preventDefault();
      if (button.classList.contains("is-busy")) return;
      root.querySelector("[data-discover-error]").hidden = true;
      var url = "/api/connectors/" + encodeURIComponent(model.connector_id || "") + "/discover";
      var body;
      if (form) {
        sent = typed(form);
        url = "/api/discovery";
        body = { base_url: sent.base_url, auth: sent.auth };
      }
      status(root, "discovery.page.running");
      setBusy(button, true);
      api(url, "POST", body).then(
        function (result) {
          setBusy(button, false);
          status(root, null);
          if (!result.ok || !result.data) return failed(result);
          report = result.data;
          render(root, report, ctx);
          root.setAttribute("data-discovered", "true");
        },
        function () {
          setBusy(button, false);
          status(root, null);
          showError(root, t("ui.js.error_network"));
        }
      );
    }

    ctx.apply = function (keys, trigger) {
      if (!report) return;
      var proposal = report.proposal;
      var endpoints = proposal.endpoints.filter(function (e) {
        return !keys || keys.indexOf(e.key) >= 0;
      });
      var mappings = {};
      endpoints.forEach(function (e) {
        if (proposal.mappings[e.key]) mappings[e.key] = proposal.mappings[e.key];
      });
      var url = "/api/connectors/" + encodeURIComponent(model.connector_id || "") + "/discover/adopt";
      var body = { endpoints: endpoints, mappings: mappings };
      if (form) {
        url = "/api/discovery/adopt";
        body = { base_url: sent.base_url, auth: sent.auth, endpoints: endpoints, mappings: mappings };
        if (sent.name) body.name = sent.name;
      }
      setBusy(trigger, true);
      status(root, "discovery.apply.running");
      api(url, "POST", body).then(
        function (result) {
          setBusy(trigger, false);
          status(root, null);
          if (!result.ok || !result.data) return failed(result);
          if (form) {
            clear(done).appendChild(label("discovery.start.opening"));
            done.hidden = false;
            window.location.assign("/app/connectors/" + encodeURIComponent(result.data.connector.id));
            return;
          }
          clear(done).appendChild(label("discovery.apply.done"));
          done.hidden = false;
          root.setAttribute("data-applied", "true");
        },
        function () {
          setBusy(trigger, false);
          status(root, null);
          showError(root, t("ui.js.error_network"));
        }
      );
    };

    (form || button).addEventListener(form ? "submit" : "click", discover);
    applyAll.addEventListener("click", function () {
      ctx.apply(null, applyAll);
    });
    root.setAttribute("data-ready", "true");
  }

  function start() {
    A.loadCatalogue()
      .catch(function () {})
      .then(function () {
        var root = document.querySelector("[data-discover-page]");
        if (root) initPage(root);
      });
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})();
