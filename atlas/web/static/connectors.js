/* Atlas — the connector pages' script. Vanilla, no dependencies, no build step.
 *
 * 1. The connector form (/app/connectors/new and /app/connectors/{id}/edit):
 *    show only the chosen kind's fields, the repeatable endpoint group with its
 *    query-parameter rows, the demo-ERP preset, and a submit that builds the
 *    API's JSON (numbers as numbers; an untouched secret is never sent) and
 *    shows problem details next to the field they name.
 * 2. The detail page: "Test connection" runs the checks and shows each
 *    endpoint's result and the history in place, without a reload.
 *
 * Text goes through window.Atlas.t (atlas.js) and is written as
 * <span data-i18n="key">, so the language switch re-translates it too.
 */
(function () {
  "use strict";

  var RESOURCES = ["items", "locations", "stock_balances", "stock_movements"];
  var HEALTH_TONES = { unknown: "neutral", healthy: "success", degraded: "warning", failing: "danger" };

  // The demo ERP (SPEC 12): `atlas demo-erp --port 3001`, key in the X-API-Key header.
  var DEMO_ERP = {
    base_url: "http://127.0.0.1:3001",
    environment: "sandbox",
    auth: { kind: "api_key", key_location: "header", key_name: "X-API-Key", api_key: "DEMO-API-KEY-2024" },
    endpoints: [
      {
        key: "items",
        resource: "items",
        path: "/api/v1/items",
        record_path: "$.data",
        pagination: {
          kind: "page",
          page_size: 100,
          page_param: "page",
          size_param: "per_page",
          start_page: 1,
          total_pages_path: "$.meta.total_pages",
        },
      },
      {
        key: "locations",
        resource: "locations",
        path: "/api/v1/warehouses",
        record_path: "$.results",
        pagination: { kind: "offset", page_size: 100, offset_param: "offset", limit_param: "limit", total_path: "$.total" },
      },
      {
        key: "stock_balances",
        resource: "stock_balances",
        path: "/api/v1/stock",
        record_path: "$.items",
        pagination: {
          kind: "cursor",
          cursor_source: "body",
          cursor_path: "$.next_cursor",
          cursor_param: "cursor",
          size_param: "limit",
          page_size: 500,
        },
      },
      {
        key: "stock_movements",
        resource: "stock_movements",
        path: "/api/v1/movements",
        record_path: "$.movements",
        params: { page_size: "500" },
        pagination: { kind: "cursor", cursor_source: "link_header" },
        time_window: { start_param: "from", end_param: "to", window_hours: 720, lookback_days: 180, format: "iso" },
      },
    ],
  };

  // ---------------------------------------------------------------- helpers

  // Shared with atlas.js, which the page loads first.
  var A = window.Atlas;
  var currentLang = A.currentLang;
  var parseJSON = A.parseJSON;
  var el = A.el;
  var label = A.label;
  var translateTree = A.translateTree;
  var api = A.api;
  var problemText = A.problemMessage;
  var signInAgain = A.signInAgain;
  var setBusy = A.setBusy;

  var t = A.t;
  var known = A.known;
  var timeEl = A.timeEl;

  /** Translates `root` once the catalogue is in (copies made after a language switch). */
  function translateLater(root) {
    A.loadCatalogue().then(
      function () {
        translateTree(root);
      },
      function () {}
    );
  }

  function numberEl(value, digits) {
    if (value == null) return el("span", { class: "muted" }, ["—"]);
    var text = Number(value).toLocaleString("en-US", { maximumFractionDigits: digits || 0 });
    return el("span", { class: "num", dir: "ltr" }, [text]);
  }

  // ---------------------------------------------------------------- the form: visibility

  function groupPrefix(group) {
    return "endpoints." + (group.getAttribute("data-index") || "0") + ".";
  }

  function controlValue(form, from, name) {
    var group = from.closest("[data-endpoint]");
    var control = group ? group.querySelector('[name="' + groupPrefix(group) + name + '"]') : null;
    if (!control) control = form.querySelector('[name="' + name + '"]');
    if (!control) return "";
    if (control.type === "checkbox") return control.checked ? "on" : "off";
    return control.value;
  }

  /** data-show-if="a.kind=x,y|a.kind=z&b.source=body": alternatives by "|", all of "&", values by ",". */
  function shown(form, node) {
    return node
      .getAttribute("data-show-if")
      .split("|")
      .some(function (alternative) {
        return alternative.split("&").every(function (condition) {
          var at = condition.indexOf("=");
          var values = condition.slice(at + 1).split(",");
          return values.indexOf(controlValue(form, node, condition.slice(0, at).trim())) >= 0;
        });
      });
  }

  function refreshVisibility(form) {
    form.querySelectorAll("[data-show-if]").forEach(function (node) {
      node.hidden = !shown(form, node);
    });
  }

  // ---------------------------------------------------------------- the form: endpoints

  function endpointList(form) {
    return form.querySelector("[data-endpoints]");
  }

  function groups(form) {
    return Array.prototype.slice.call(endpointList(form).querySelectorAll(":scope > [data-endpoint]"));
  }

  function field(group, suffix) {
    return group.querySelector('[name="' + groupPrefix(group) + suffix + '"]');
  }

  function value(group, suffix) {
    var input = field(group, suffix);
    return input ? input.value.trim() : "";
  }

  function setValue(_scope, input, v) {
    if (!input) return;
    if (input.type === "checkbox") input.checked = !!v;
    else input.value = v == null ? "" : String(v);
  }

  var RENUMBERED = ["name", "id", "for", "aria-describedby", "aria-labelledby"];

  /** Names and ids follow the position: endpoints.<i>.*, ep-<i>-*, endpoints.<i>.params.<j>.*. */
  function renumber(form) {
    groups(form).forEach(function (group, i) {
      group.setAttribute("data-index", String(i));
      group.querySelectorAll("[name], [id], [for], [aria-describedby], [aria-labelledby]").forEach(function (node) {
        RENUMBERED.forEach(function (attr) {
          var v = node.getAttribute(attr);
          if (!v) return;
          node.setAttribute(attr, v.replace(/^endpoints\.\d+\./, "endpoints." + i + ".").replace(/\bep-\d+-/g, "ep-" + i + "-"));
        });
      });
      group.querySelectorAll("[data-endpoint-number]").forEach(function (node) {
        node.textContent = String(i + 1);
      });
      group.querySelectorAll("[data-param-row]").forEach(function (row, j) {
        row.querySelectorAll("[name]").forEach(function (node) {
          node.setAttribute("name", node.getAttribute("name").replace(/^endpoints\.\d+\.params\.\d+\./, "endpoints." + i + ".params." + j + "."));
        });
      });
    });
  }

  function keysInUse(form, except) {
    return groups(form)
      .filter(function (g) {
        return g !== except;
      })
      .map(function (g) {
        return value(g, "key");
      });
  }

  /** The key a resource suggests: its own name, or name_2, name_3... when taken. */
  function suggestKey(form, group, resource) {
    var taken = keysInUse(form, group);
    var key = resource;
    for (var n = 2; taken.indexOf(key) >= 0; n++) key = resource + "_" + n;
    return key;
  }

  function nextResource(form) {
    var used = groups(form).map(function (g) {
      return value(g, "resource");
    });
    for (var i = 0; i < RESOURCES.length; i++) if (used.indexOf(RESOURCES[i]) < 0) return RESOURCES[i];
    return RESOURCES[0];
  }

  /** Every parent <select> offers the other endpoints' keys, keeping its choice when it still exists. */
  function refreshParents(form) {
    var all = groups(form);
    all.forEach(function (group) {
      var own = value(group, "key");
      var keyLabel = group.querySelector("[data-endpoint-key-label]");
      if (keyLabel) keyLabel.textContent = own;
      var select = field(group, "parent");
      if (!select) return;
      var wanted = select.getAttribute("data-value");
      if (wanted == null) wanted = select.value;
      while (select.options.length > 1) select.remove(1);
      all.forEach(function (other) {
        var key = value(other, "key");
        if (other === group || !key) return;
        select.appendChild(el("option", { value: key }, [key]));
      });
      select.value = wanted;
      if (select.value !== wanted) select.value = "";
      select.removeAttribute("data-value");
    });
  }

  function addParam(group, key, val) {
    var template = document.querySelector("template[data-param-template]");
    var row = template.content.querySelector("[data-param-row]").cloneNode(true);
    group.querySelector("[data-params]").appendChild(row);
    if (needsTranslation(group)) translateLater(row);
    row.querySelector("[data-param-key]").value = key || "";
    row.querySelector("[data-param-value]").value = val == null ? "" : String(val);
    return row;
  }

  function needsTranslation(node) {
    var form = node.closest("form") || document.querySelector("[data-connector-form]");
    return form && form.getAttribute("data-rendered-lang") !== currentLang();
  }

  /** Fills one endpoint group from the API's shape (EndpointRead / EndpointIn). */
  function fillEndpoint(form, group, ep) {
    var resource = RESOURCES.indexOf(ep.resource) >= 0 ? ep.resource : "items";
    setValue(group, field(group, "resource"), resource);
    var keyInput = field(group, "key");
    var key = ep.key || suggestKey(form, group, resource);
    keyInput.value = key;
    keyInput.setAttribute("data-auto", key === resource || key.indexOf(resource + "_") === 0 ? "true" : "false");
    setValue(group, field(group, "path"), ep.path || "");
    setValue(group, field(group, "record_path"), ep.record_path || "$");
    var params = ep.params || {};
    Object.keys(params).forEach(function (name) {
      addParam(group, name, params[name]);
    });
    var pg = ep.pagination || {};
    setValue(group, field(group, "pagination.kind"), pg.kind || "none");
    [
      "page_size",
      "cursor_source",
      "cursor_path",
      "cursor_param",
      "offset_param",
      "limit_param",
      "total_path",
      "page_param",
      "start_page",
      "total_pages_path",
      "has_more_path",
      "next_path",
      "params_in",
    ].forEach(function (name) {
      if (Object.prototype.hasOwnProperty.call(pg, name)) setValue(group, field(group, "pagination." + name), pg[name]);
    });
    var rpc = ep.rpc;
    setValue(group, field(group, "rpc.enabled"), !!rpc);
    if (rpc) {
      setValue(group, field(group, "rpc.protocol"), rpc.protocol || "odoo_json2");
      setValue(group, field(group, "rpc.body"), JSON.stringify(rpc.body || {}, null, 2));
    }
    if (Object.prototype.hasOwnProperty.call(pg, "size_param")) setValue(group, field(group, "pagination.size_param"), pg.size_param);
    var tw = ep.time_window;
    setValue(group, field(group, "time_window.enabled"), !!tw);
    if (tw) {
      ["lookback_days", "format"].forEach(function (name) {
        if (tw[name] != null) setValue(group, field(group, "time_window." + name), tw[name]);
      });
      // No end (or start) parameter of its own: an empty field (a start-only window; or bounds in placeholders).
      ["start_param", "end_param"].forEach(function (name) {
        if (Object.prototype.hasOwnProperty.call(tw, name)) setValue(group, field(group, "time_window." + name), tw[name]);
      });
      if (tw.window_hours != null) {
        var days = Math.round((Number(tw.window_hours) / 24) * 100) / 100;
        setValue(group, field(group, "time_window.window_days"), days);
      }
    }
    var parent = field(group, "parent");
    if (parent) parent.setAttribute("data-value", ep.parent || "");
  }

  function addEndpoint(form, ep) {
    var template = document.querySelector("template[data-endpoint-template]");
    var group = template.content.querySelector("[data-endpoint]").cloneNode(true);
    endpointList(form).appendChild(group);
    renumber(form);
    if (needsTranslation(form)) translateLater(group);
    fillEndpoint(form, group, ep || { resource: nextResource(form) });
    renumber(form); // its query-parameter rows
    refreshParents(form);
    refreshVisibility(form);
    return group;
  }

  function removeEndpoint(form, group) {
    group.parentNode.removeChild(group);
    renumber(form);
    refreshParents(form);
    refreshVisibility(form);
  }

  // ---------------------------------------------------------------- the form: the JSON body

  function formValue(form, name) {
    var input = form.querySelector('[name="' + name + '"]');
    return input ? input.value.trim() : "";
  }

  function num(raw, kind) {
    if (raw === "" || raw == null) return undefined;
    var n = kind === "float" ? parseFloat(raw) : parseInt(raw, 10);
    return isNaN(n) ? undefined : n;
  }

  function putText(into, name, raw) {
    if (raw !== "") into[name] = raw;
  }

  function buildAuth(form) {
    var kind = formValue(form, "auth.kind") || "none";
    var auth = { kind: kind };
    if (kind === "api_key") {
      auth.key_location = formValue(form, "auth.key_location") || "header";
      putText(auth, "key_name", formValue(form, "auth.key_name"));
      putText(auth, "api_key", formValue(form, "auth.api_key")); // empty: keep the stored key
    } else if (kind === "bearer") {
      putText(auth, "token", formValue(form, "auth.token"));
    } else if (kind === "oauth2_client_credentials") {
      putText(auth, "issuer", formValue(form, "auth.issuer"));
      putText(auth, "token_url", formValue(form, "auth.token_url"));
      putText(auth, "client_auth", formValue(form, "auth.client_auth")); // empty: the provider's metadata decides
      putText(auth, "client_id", formValue(form, "auth.client_id"));
      putText(auth, "client_secret", formValue(form, "auth.client_secret"));
      putText(auth, "scopes", formValue(form, "auth.scopes"));
      putText(auth, "audience", formValue(form, "auth.audience"));
    } else if (kind === "oauth2_refresh_token" || kind === "oauth2_password") {
      putText(auth, "token_url", formValue(form, "auth.token_url"));
      putText(auth, "issuer", formValue(form, "auth.issuer"));
      putText(auth, "client_auth", formValue(form, "auth.client_auth"));
      putText(auth, "client_id", formValue(form, "auth.client_id"));
      putText(auth, "client_secret", formValue(form, "auth.client_secret")); // empty: keep the stored secret
      putText(auth, "scopes", formValue(form, "auth.scopes"));
      putText(auth, "scheme", formValue(form, "auth.token_scheme")); // empty: Bearer
      if (kind === "oauth2_refresh_token") {
        putText(auth, "refresh_token", formValue(form, "auth.refresh_token")); // empty: keep the stored token
      } else {
        putText(auth, "username", formValue(form, "auth.username"));
        putText(auth, "password", formValue(form, "auth.password")); // empty: keep the stored password
      }
    } else if (kind === "basic") {
      putText(auth, "username", formValue(form, "auth.username"));
      putText(auth, "password", formValue(form, "auth.password")); // empty: keep the stored password
    } else if (kind === "header") {
      putText(auth, "scheme", formValue(form, "auth.scheme"));
      putText(auth, "credential", formValue(form, "auth.credential"));
    } else if (kind === "session_login") {
      putText(auth, "login_url", formValue(form, "auth.login_url"));
      putText(auth, "username", formValue(form, "auth.username"));
      putText(auth, "password", formValue(form, "auth.password"));
      putText(auth, "username_field", formValue(form, "auth.username_field"));
      putText(auth, "password_field", formValue(form, "auth.password_field"));
      var idle = num(formValue(form, "auth.session_idle_minutes"), "int");
      if (idle !== undefined) auth.session_idle_minutes = idle;
      auth.login_fields = loginFields(form);
    }
    return auth;
  }

  /** The session login's extra body fields from their rows ({CompanyDB: "SBODEMOUS"}); unnamed rows are left out. */
  function loginFields(form) {
    var fields = {};
    form.querySelectorAll("[data-login-field-row]").forEach(function (row) {
      var name = row.querySelector("[data-login-field-name]").value.trim();
      if (name) fields[name] = row.querySelector("[data-login-field-value]").value.trim();
    });
    return fields;
  }

  function addLoginField(form) {
    var template = document.querySelector("template[data-login-field-template]");
    var row = template.content.querySelector("[data-login-field-row]").cloneNode(true);
    form.querySelector("[data-login-fields]").appendChild(row);
    if (needsTranslation(form)) translateLater(row);
    return row;
  }

  function buildPagination(group) {
    var kind = value(group, "pagination.kind") || "none";
    var pg = { kind: kind };
    var size = num(value(group, "pagination.page_size"), "int");
    if (kind === "cursor") {
      var source = value(group, "pagination.cursor_source") || "body";
      pg.cursor_source = source;
      if (source !== "link_header") putText(pg, "cursor_path", value(group, "pagination.cursor_path"));
      if (source === "body") {
        putText(pg, "cursor_param", value(group, "pagination.cursor_param"));
        pg.size_param = value(group, "pagination.size_param") || null;
        if (size !== undefined) pg.page_size = size;
      }
    } else if (kind === "offset") {
      if (size !== undefined) pg.page_size = size;
      putText(pg, "offset_param", value(group, "pagination.offset_param"));
      putText(pg, "limit_param", value(group, "pagination.limit_param"));
    } else if (kind === "page") {
      if (size !== undefined) pg.page_size = size;
      putText(pg, "page_param", value(group, "pagination.page_param"));
      pg.size_param = value(group, "pagination.size_param") || null;
      var start = num(value(group, "pagination.start_page"), "int");
      if (start !== undefined) pg.start_page = start;
      putText(pg, "total_pages_path", value(group, "pagination.total_pages_path"));
    }
    if (kind !== "none") {
      // How the read knows it is complete: a total checked at the end, or the API's own end signal.
      putText(pg, "total_path", value(group, "pagination.total_path"));
      putText(pg, "has_more_path", value(group, "pagination.has_more_path"));
      putText(pg, "next_path", value(group, "pagination.next_path"));
      if (field(group, "rpc.enabled").checked) pg.params_in = value(group, "pagination.params_in") || "query";
    }
    return pg;
  }

  /** A read-RPC endpoint's settings; a body that is not JSON goes as typed, and the API names the field. */
  function buildRpc(group) {
    if (!field(group, "rpc.enabled").checked) return null;
    var text = value(group, "rpc.body");
    var body = text ? parseJSON(text, text) : {};
    return { protocol: value(group, "rpc.protocol") || "odoo_json2", body: body };
  }

  function buildEndpoint(group) {
    var ep = {
      key: value(group, "key"),
      resource: value(group, "resource"),
      path: value(group, "path"),
      record_path: value(group, "record_path") || "$",
      params: {},
      pagination: buildPagination(group),
      time_window: null,
      parent: value(group, "parent") || null,
      rpc: buildRpc(group),
    };
    group.querySelectorAll("[data-param-row]").forEach(function (row) {
      var name = row.querySelector("[data-param-key]").value.trim();
      if (name) ep.params[name] = row.querySelector("[data-param-value]").value.trim();
    });
    if (field(group, "time_window.enabled").checked) {
      var tw = {};
      // empty: no start parameter of its own ({window.start} in a parameter carries it; without one, a 422 says so)
      tw.start_param = value(group, "time_window.start_param") || null;
      tw.end_param = value(group, "time_window.end_param") || null; // empty: the API takes only a start
      var days = num(value(group, "time_window.window_days"), "float");
      if (days !== undefined) tw.window_hours = Math.max(1, Math.round(days * 24));
      var lookback = num(value(group, "time_window.lookback_days"), "int");
      if (lookback !== undefined) tw.lookback_days = lookback;
      tw.format = value(group, "time_window.format") || "iso";
      ep.time_window = tw;
    }
    return ep;
  }

  var LIMITS = [
    ["rate_limit_per_second", "float"],
    ["rate_limit_burst", "int"],
    ["timeout_seconds", "float"],
    ["max_concurrency", "int"],
    ["retry_attempts", "int"],
  ];

  function buildBody(form) {
    var body = {
      name: formValue(form, "name"),
      base_url: formValue(form, "base_url"),
      environment: formValue(form, "environment") || "sandbox",
      auth: buildAuth(form),
      endpoints: groups(form).map(buildEndpoint),
    };
    LIMITS.forEach(function (pair) {
      var n = num(formValue(form, pair[0]), pair[1]);
      if (n !== undefined) body[pair[0]] = n;
    });
    // Shares are typed as percents and sent as fractions (5 % → 0.05).
    ["max_set_aside_share", "max_vanished_share"].forEach(function (name) {
      var n = num(formValue(form, name), "float");
      if (n !== undefined) body[name] = Math.round(n * 100) / 10000;
    });
    body.headers = staticHeaders(form);
    return body;
  }

  /** The static request headers from their rows ({"X-Odoo-Database": "prod"}); unnamed rows are left out. */
  function staticHeaders(form) {
    var headers = {};
    form.querySelectorAll("[data-header-row]").forEach(function (row) {
      var name = row.querySelector("[data-header-name]").value.trim();
      if (name) headers[name] = row.querySelector("[data-header-value]").value.trim();
    });
    return headers;
  }

  function addHeader(form) {
    var template = document.querySelector("template[data-header-template]");
    var row = template.content.querySelector("[data-header-row]").cloneNode(true);
    form.querySelector("[data-headers]").appendChild(row);
    if (needsTranslation(form)) translateLater(row);
    return row;
  }

  // ---------------------------------------------------------------- the form: errors

  function clearErrors(form) {
    form.querySelectorAll("[data-field-error]").forEach(function (node) {
      node.parentNode.removeChild(node);
    });
    form.querySelectorAll('[aria-invalid="true"]').forEach(function (node) {
      node.removeAttribute("aria-invalid");
    });
    form.querySelectorAll("[data-form-error], [data-field-error-for]").forEach(function (box) {
      box.hidden = true;
      box.textContent = "";
    });
  }

  function showTop(form, text) {
    var box = form.querySelector("[data-form-error]");
    box.textContent = text;
    box.hidden = false;
    box.scrollIntoView({ block: "center", behavior: "smooth" });
    box.focus({ preventScroll: true });
  }

  /** "endpoints[1].pagination.cursor_path" (or "$.endpoints[1]...") as the form input's name. */
  function inputName(path) {
    var name = String(path || "")
      .replace(/^\$\.?/, "")
      .replace(/\[(\d+)\]/g, ".$1");
    return name
      .replace(/^(endpoints\.\d+\.time_window)\.window_hours$/, "$1.window_days")
      .replace(/^headers\..*$/, "headers");
  }

  /** Shows `text` next to the input `path` names; false when no input matches. */
  function showFieldError(form, path, text, focus) {
    var name = inputName(path);
    if (!name) return false;
    var box = form.querySelector('[data-field-error-for="' + name + '"]');
    if (box) {
      var within = box.closest("details");
      if (within) within.open = true;
      box.textContent = text;
      box.hidden = false;
      if (focus) box.scrollIntoView({ block: "center", behavior: "smooth" });
      return true;
    }
    var input = form.querySelector('[name="' + name + '"]');
    if (!input) return false;
    var details = input.closest("details");
    if (details) details.open = true;
    input.setAttribute("aria-invalid", "true");
    var holder = input.closest(".field") || input.parentNode;
    var message = el("p", { class: "field-error", role: "alert", "data-field-error": "" }, [text]);
    var hint = holder.querySelector(":scope > .hint");
    holder.insertBefore(message, hint || null);
    if (focus) {
      input.scrollIntoView({ block: "center", behavior: "smooth" });
      input.focus({ preventScroll: true });
    }
    return true;
  }

  function showProblem(form, result) {
    var data = result.data || {};
    var placed = false;
    if (data.field && showFieldError(form, data.field, problemText(result), true)) placed = true;
    (Array.isArray(data.errors) ? data.errors : []).forEach(function (item) {
      if (item && item.field && showFieldError(form, item.field, item.message || problemText(result), !placed)) placed = true;
    });
    if (!placed) showTop(form, problemText(result));
  }

  // ---------------------------------------------------------------- the form: wiring

  function fillForm(form, model) {
    ["name", "base_url", "environment"].forEach(function (name) {
      if (model[name] != null) setValue(form, form.querySelector('[name="' + name + '"]'), model[name]);
    });
    if (model.auth) {
      Object.keys(model.auth).forEach(function (name) {
        var input = form.querySelector('[name="auth.' + name + '"]');
        if (input && typeof model.auth[name] !== "object") setValue(form, input, model.auth[name]);
      });
    }
    groups(form).forEach(function (group) {
      group.parentNode.removeChild(group);
    });
    (model.endpoints || []).forEach(function (ep) {
      addEndpoint(form, ep);
    });
    refreshParents(form);
    refreshVisibility(form);
  }

  function initForm(form) {
    var holder = document.querySelector("script[data-connector-model]");
    var model = parseJSON(holder ? holder.textContent : "", {}) || {};
    (model.endpoints || []).forEach(function (ep) {
      addEndpoint(form, ep);
    });
    if (!groups(form).length) addEndpoint(form, null);
    refreshParents(form);
    refreshVisibility(form);

    form.addEventListener("change", function (event) {
      var target = event.target;
      var group = target.closest("[data-endpoint]");
      if (group && target.hasAttribute("data-resource")) {
        var keyInput = field(group, "key");
        if (keyInput.getAttribute("data-auto") !== "false" || !keyInput.value.trim()) {
          keyInput.value = suggestKey(form, group, target.value);
          keyInput.setAttribute("data-auto", "true");
          refreshParents(form);
        }
      }
      refreshVisibility(form);
    });

    form.addEventListener("input", function (event) {
      var target = event.target;
      var group = target.closest("[data-endpoint]");
      if (group && target === field(group, "key")) {
        target.setAttribute("data-auto", "false");
        refreshParents(form);
      }
      if (target.getAttribute("aria-invalid") === "true") {
        target.removeAttribute("aria-invalid");
        var message = (target.closest(".field") || target.parentNode).querySelector("[data-field-error]");
        if (message) message.parentNode.removeChild(message);
      }
    });

    form.addEventListener("click", function (event) {
      var target = event.target;
      if (target.closest('[data-testid="add-endpoint"]')) {
        event.preventDefault();
        var group = addEndpoint(form, null);
        var first = field(group, "resource");
        if (first) first.focus();
      } else if (target.closest("[data-remove-endpoint]")) {
        event.preventDefault();
        removeEndpoint(form, target.closest("[data-endpoint]"));
      } else if (target.closest("[data-add-param]")) {
        event.preventDefault();
        var g = target.closest("[data-endpoint]");
        var row = addParam(g, "", "");
        renumber(form);
        row.querySelector("[data-param-key]").focus();
      } else if (target.closest("[data-remove-param]")) {
        event.preventDefault();
        var r = target.closest("[data-param-row]");
        r.parentNode.removeChild(r);
        renumber(form);
      } else if (target.closest("[data-add-header]")) {
        event.preventDefault();
        addHeader(form).querySelector("[data-header-name]").focus();
      } else if (target.closest("[data-remove-header]")) {
        event.preventDefault();
        var headerRow = target.closest("[data-header-row]");
        headerRow.parentNode.removeChild(headerRow);
      } else if (target.closest("[data-add-login-field]")) {
        event.preventDefault();
        addLoginField(form).querySelector("[data-login-field-name]").focus();
      } else if (target.closest("[data-remove-login-field]")) {
        event.preventDefault();
        var loginRow = target.closest("[data-login-field-row]");
        loginRow.parentNode.removeChild(loginRow);
      } else if (target.closest('[data-testid="demo-preset"]')) {
        event.preventDefault();
        clearErrors(form);
        var demo = JSON.parse(JSON.stringify(DEMO_ERP));
        demo.name = t("connectors.form.demo.name");
        fillForm(form, demo);
        var done = form.querySelector("[data-demo-filled]");
        if (done) done.hidden = false;
      }
    });

    form.addEventListener("submit", function (event) {
      event.preventDefault();
      var submit = event.submitter || form.querySelector('[type="submit"]');
      if (submit && submit.classList.contains("is-busy")) return;
      clearErrors(form);
      var editing = form.getAttribute("data-mode") === "edit";
      var id = form.getAttribute("data-connector-id");
      var url = editing ? "/api/connectors/" + encodeURIComponent(id) : "/api/connectors";
      setBusy(submit, true);
      api(url, editing ? "PATCH" : "POST", buildBody(form)).then(
        function (result) {
          if (result.ok) {
            var saved = (result.data && result.data.id) || id;
            window.location.assign("/app/connectors/" + encodeURIComponent(saved));
            return;
          }
          setBusy(submit, false);
          if (result.status === 401) {
            signInAgain();
            return;
          }
          showProblem(form, result);
        },
        function () {
          setBusy(submit, false);
          showTop(form, t("ui.js.error_network"));
        }
      );
    });
  }

  // ---------------------------------------------------------------- the detail page

  function healthBadge(status) {
    var key = "connectors.health." + status;
    return el("span", { class: "badge badge-" + (HEALTH_TONES[status] || "neutral") + " health-badge", "data-testid": "health-badge", "data-health": status }, [
      el("span", { class: "health-dot", "aria-hidden": "true" }),
      known(key) ? label(key) : el("span", { dir: "auto" }, [status]),
    ]);
  }

  function reasonCell(check) {
    var cell = el("td", { class: "check-reason" });
    if (!check.reason) {
      cell.appendChild(el("span", { class: "muted" }, ["—"]));
      return cell;
    }
    var key = "connectors.reason." + check.reason;
    cell.appendChild(known(key) ? label(key) : el("code", { class: "mono", dir: "ltr" }, [check.reason]));
    if (check.code && known(check.code)) {
      // Atlas's own message: its key and parameters, so it follows the page's language (the API's `detail` is the
      // same message in the request's language).
      cell.appendChild(el("span", { class: "check-detail muted", dir: "auto", "data-testid": "check-message", "data-code": check.code }, [
        label(check.code, check.params || null),
      ]));
    } else if (check.detail && check.detail.indexOf("errors.") !== 0) {
      cell.appendChild(el("span", { class: "check-detail muted", dir: "ltr" }, [check.detail]));
    }
    if (check.hint) cell.appendChild(authHint(check.hint, check.reason));
    return cell;
  }

  /** What a 401 said the server expects (WWW-Authenticate's scheme and realm), as advice: which authentication
   *  kind sends that scheme. The same choice as the c.auth_hint macro in connectors/_ui.html. */
  function authHint(hint, reason) {
    var scheme = String(hint).split(" ")[0].split(",")[0];
    var lowered = scheme.toLowerCase();
    var key = "connectors.auth_hint.scheme";
    if (String(reason || "").indexOf("oauth2_token") === 0) key = "connectors.auth_hint.token_endpoint";
    else if (lowered === "basic") key = "connectors.auth_hint.basic";
    else if (lowered === "bearer") key = "connectors.auth_hint.bearer";
    return el("span", { class: "auth-hint", "data-testid": "auth-hint", "data-hint": hint, dir: "auto" }, [
      label(key, { scheme: scheme, hint: hint }),
    ]);
  }
  A.authHint = authHint; // the sync section's script (data.js) shows a failed run's hint the same way

  function resultBadge(ok) {
    return ok
      ? el("span", { class: "badge badge-success", "data-result": "ok" }, [label("connectors.result.ok")])
      : el("span", { class: "badge badge-danger", "data-result": "failed" }, [label("connectors.result.failed")]);
  }

  function checkRow(check, history) {
    var cells = [];
    if (history) cells.push(el("td", {}, [timeEl(check.checked_at)]));
    cells.push(el("td", {}, [el("code", { class: "mono", dir: "ltr" }, [check.endpoint])]));
    cells.push(el("td", {}, [resultBadge(check.ok)]));
    cells.push(el("td", { class: "col-num" }, [numberEl(check.status_code)]));
    cells.push(el("td", { class: "col-num" }, [numberEl(check.latency_ms)]));
    cells.push(el("td", { class: "col-num" }, [numberEl(check.sample_count)]));
    cells.push(reasonCell(check));
    if (history) {
      var trigger = "connectors.trigger." + check.trigger;
      cells.push(el("td", {}, [known(trigger) ? label(trigger) : el("span", {}, [check.trigger])]));
    } else {
      cells.push(el("td", {}, [timeEl(check.checked_at)]));
    }
    return el(
      "tr",
      { "data-testid": history ? "history-row" : "test-result", "data-endpoint": check.endpoint, "data-ok": check.ok ? "true" : "false" },
      cells
    );
  }

  function replaceRows(tbody, rows) {
    while (tbody.firstChild) tbody.removeChild(tbody.firstChild);
    rows.forEach(function (row) {
      tbody.appendChild(row);
    });
  }

  function renderHealth(page, data) {
    var latest = (data.latest || []).filter(function (c) {
      return c.checked_at === data.last_checked_at;
    });
    if (!latest.length) latest = data.latest || [];
    replaceRows(
      page.querySelector("[data-test-rows]"),
      latest.map(function (c) {
        return checkRow(c, false);
      })
    );
    page.querySelector("[data-test-table]").hidden = false;
    var empty = page.querySelector("[data-test-empty]");
    if (empty) empty.hidden = true;

    var ok = latest.filter(function (c) {
      return c.ok;
    }).length;
    var status = page.querySelector("[data-test-status]");
    status.textContent = "";
    var params = { ok: ok, total: latest.length };
    status.appendChild(label(ok === latest.length ? "connectors.detail.test.all_ok" : "connectors.detail.test.some_failed", params));
    status.className = "test-status " + (ok === latest.length ? "is-ok" : "is-failed");
    status.hidden = false;

    var badgeHolder = page.querySelector("[data-health-badge]");
    if (badgeHolder) {
      badgeHolder.textContent = "";
      badgeHolder.appendChild(healthBadge(data.health_status || "unknown"));
    }
    var last = page.querySelector("[data-last-checked]");
    if (last && data.last_checked_at) {
      last.textContent = "";
      last.appendChild(timeEl(data.last_checked_at)); // the tenant's time zone, as the server draws it
    }

    var history = data.history || [];
    replaceRows(
      page.querySelector("[data-history-rows]"),
      history.map(function (c) {
        return checkRow(c, true);
      })
    );
    page.querySelector("[data-history-table]").hidden = history.length === 0;
    var historyEmpty = page.querySelector("[data-history-empty]");
    if (historyEmpty) historyEmpty.hidden = history.length > 0;
  }

  function initDetail(page) {
    var button = page.querySelector('[data-testid="test-connection"]');
    if (!button) return;
    button.addEventListener("click", function (event) {
      event.preventDefault();
      if (button.classList.contains("is-busy")) return;
      var error = page.querySelector("[data-test-error]");
      error.hidden = true;
      var status = page.querySelector("[data-test-status]");
      status.textContent = "";
      status.className = "test-status";
      status.appendChild(label("connectors.detail.test.running"));
      status.hidden = false;
      setBusy(button, true);
      api(button.getAttribute("data-test-url"), "POST").then(
        function (result) {
          setBusy(button, false);
          if (result.ok && result.data) {
            renderHealth(page, result.data);
            return;
          }
          if (result.status === 401) {
            signInAgain();
            return;
          }
          status.hidden = true;
          error.textContent = problemText(result);
          error.hidden = false;
        },
        function () {
          setBusy(button, false);
          status.hidden = true;
          error.textContent = t("ui.js.error_network");
          error.hidden = false;
        }
      );
    });
  }

  // ---------------------------------------------------------------- start

  function start() {
    // The catalogue lets script-written text follow the page's language; the page works without it.
    A.loadCatalogue().catch(function () {});
    var form = document.querySelector("[data-connector-form]");
    if (form) {
      initForm(form);
      form.setAttribute("data-ready", "true");
    }
    var page = document.querySelector("[data-connector-page]");
    if (page) initDetail(page);
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})();
