/* Atlas — the mapping pages' script. Vanilla, no dependencies, no build step.
 *
 * 1. The mapping editor (/app/connectors/{id}/mappings/{endpoint}): one rule per
 *    canonical field (a JSONPath or a constant, then a chain of transforms), a
 *    live preview on a sample page of the real system (on demand and, after
 *    edits, automatically), saving as a new documented version, the version
 *    history with activation (rollback), and the difference between two versions.
 * (Discovery, which proposes mappings, has its own script: discovery.js.)
 *
 * Everything goes through the JSON API with the session's CSRF header. Text goes
 * through window.Atlas.t (atlas.js) and is written as <span data-i18n="key">, so
 * the language switch re-translates it too.
 */
(function () {
  "use strict";

  var SUGGESTION_PREFIX = "atlas.mapping.suggestion.";
  var PREVIEW_LIMIT = 20;
  var AUTO_PREVIEW_DELAY = 900;

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

  var renderedLang = currentLang();

  function code(text, cls) {
    return el("code", { class: "mono" + (cls ? " " + cls : ""), dir: "ltr" }, [String(text)]);
  }

  function muted(text) {
    return el("span", { class: "muted" }, [text || "—"]);
  }

  function clear(node) {
    while (node.firstChild) node.removeChild(node.firstChild);
    return node;
  }

  /** A copy made after a language switch speaks the page's language. */
  function localise(root) {
    if (currentLang() === renderedLang) return;
    A.loadCatalogue().then(
      function () {
        translateTree(root);
      },
      function () {}
    );
  }

  function showBox(box, content) {
    if (!box) return;
    clear(box);
    box.appendChild(typeof content === "string" ? document.createTextNode(content) : content);
    box.hidden = false;
  }

  function hideBox(box) {
    if (!box) return;
    box.hidden = true;
    clear(box);
  }

  function shortJSON(value, max) {
    var text;
    try {
      text = JSON.stringify(value);
    } catch (e) {
      text = String(value);
    }
    if (text === undefined) text = String(value);
    max = max || 80;
    return text.length > max ? text.slice(0, max - 1) + "…" : text;
  }

  function suggestionKey(connectorId, endpointKey) {
    return SUGGESTION_PREFIX + connectorId + "." + endpointKey;
  }

  function storage() {
    try {
      return window.sessionStorage;
    } catch (e) {
      return null;
    }
  }

  /** A canonical field's name in the page's language, or its code. */
  function fieldLabel(name) {
    var key = "mappings.field." + name;
    return known(key) ? label(key) : code(name);
  }

  /** One rule as a line of text: "$.a.b → trim → lookup(...)" or "= 5". */
  function ruleText(rule) {
    if (rule == null) return "—";
    if (typeof rule !== "object") return String(rule);
    var parts = [];
    if (Object.prototype.hasOwnProperty.call(rule, "constant")) parts.push("= " + shortJSON(rule.constant, 60));
    else parts.push(String(rule.path || "?"));
    (Array.isArray(rule.transforms) ? rule.transforms : []).forEach(function (tr) {
      if (!tr || typeof tr !== "object") return;
      var params = Object.keys(tr)
        .filter(function (k) {
          return k !== "op";
        })
        .map(function (k) {
          return k + "=" + shortJSON(tr[k], 60);
        });
      parts.push(String(tr.op) + (params.length ? "(" + params.join(", ") + ")" : ""));
    });
    return parts.join(" → ");
  }

  // ================================================================ the mapping editor

  function initEditor(root) {
    var model = parseJSON((root.querySelector("script[data-mapping-model]") || {}).textContent, null);
    if (!model) return;
    var canManage = !!model.can_manage;
    var mapping = model.mapping || null;
    var form = root.querySelector("[data-mapping-form]");
    var rows = Array.prototype.slice.call(form.querySelectorAll("[data-field-rules] > [data-field]"));
    var dirty = false;
    var idCounter = 0;

    function row(name) {
      return form.querySelector('[data-field-rules] > [data-field="' + name + '"]');
    }

    function input(scope, name) {
      return scope.querySelector('[name="' + name + '"]');
    }

    // ------------------------------------------------------------ typed values

    /** Shows `value` in a text input, remembering its JSON type so an untouched value keeps it. */
    function setTyped(node, value) {
      var text = value == null ? "" : typeof value === "string" ? value : JSON.stringify(value);
      node.value = text;
      if (value != null && typeof value !== "string") node.setAttribute("data-json", JSON.stringify(value));
      else node.removeAttribute("data-json");
    }

    function readTyped(node) {
      var stored = node.getAttribute("data-json");
      if (stored != null) {
        var original = parseJSON(stored, undefined);
        if (original !== undefined && JSON.stringify(original) === node.value) return original;
      }
      return node.value;
    }

    // ------------------------------------------------------------ transforms

    function transforms(fieldRow) {
      return Array.prototype.slice.call(fieldRow.querySelectorAll("[data-transforms] > [data-transform]"));
    }

    function param(node, name) {
      return node.querySelector('[data-param="' + name + '"]');
    }

    function renumberTransforms(fieldRow) {
      var name = fieldRow.getAttribute("data-field");
      var all = transforms(fieldRow);
      all.forEach(function (node, i) {
        var prefix = "fields." + name + ".transforms." + i + ".";
        node.setAttribute("data-index", String(i));
        node.querySelector("[data-transform-number]").textContent = String(i + 1);
        var select = node.querySelector("[data-op]");
        select.setAttribute("name", prefix + "op");
        node.querySelectorAll("[data-param]").forEach(function (p) {
          p.setAttribute("name", prefix + p.getAttribute("data-param"));
        });
        var up = node.querySelector('[data-move="up"]');
        var down = node.querySelector('[data-move="down"]');
        if (up) up.disabled = i === 0;
        if (down) down.disabled = i === all.length - 1;
      });
    }

    /** Label/input pairs get unique ids once, when the copy is made. */
    function linkLabels(node) {
      var opLabel = node.querySelector("[data-op-label]");
      var select = node.querySelector("[data-op]");
      idCounter += 1;
      select.id = "mp-t" + idCounter + "-op";
      if (opLabel) opLabel.setAttribute("for", select.id);
      node.querySelectorAll(".transform-param").forEach(function (holder) {
        var lbl = holder.querySelector("[data-param-label]");
        var control = holder.querySelector("input[data-param], textarea[data-param]");
        if (!lbl || !control) return;
        control.id = "mp-t" + idCounter + "-" + control.getAttribute("data-param");
        lbl.setAttribute("for", control.id);
      });
    }

    function refreshTransform(node) {
      var op = node.querySelector("[data-op]").value;
      node.setAttribute("data-op-name", op);
      node.querySelectorAll("[data-param-for]").forEach(function (holder) {
        holder.hidden = holder.getAttribute("data-param-for") !== op;
      });
      var hint = node.querySelector("[data-op-hint]");
      clear(hint);
      var key = "mappings.op_hint." + op;
      if (known(key)) hint.appendChild(label(key));
      hint.hidden = !hint.firstChild;
    }

    function addLookupRow(node, key, value) {
      var template = document.querySelector("template[data-lookup-row-template]");
      var lookupRow = template.content.querySelector("[data-lookup-row]").cloneNode(true);
      node.querySelector("[data-lookup-rows]").appendChild(lookupRow);
      localise(lookupRow);
      lookupRow.querySelector("[data-lookup-key]").value = key == null ? "" : String(key);
      setTyped(lookupRow.querySelector("[data-lookup-value]"), value == null ? "" : value);
      return lookupRow;
    }

    function fillTransform(node, spec) {
      var op = spec.op;
      node.querySelector("[data-op]").value = op;
      if (op === "parse_datetime") {
        param(node, "format").value = spec.format || "";
        param(node, "timezone").value = spec.timezone || "";
      } else if (op === "multiply") {
        setTyped(param(node, "factor"), spec.factor == null ? "" : spec.factor);
        param(node, "multiply_path").value = typeof spec.path === "string" ? spec.path : "";
      } else if (op === "lookup") {
        var table = spec.table && typeof spec.table === "object" ? spec.table : {};
        Object.keys(table).forEach(function (k) {
          addLookupRow(node, k, table[k]);
        });
        if (Object.prototype.hasOwnProperty.call(spec, "default")) setTyped(param(node, "default"), spec["default"]);
        param(node, "ignore_case").checked = spec.ignore_case !== false;
        if (Object.prototype.hasOwnProperty.call(spec, "ignore_case")) node.setAttribute("data-explicit-ignore-case", "");
      } else if (op === "default") {
        setTyped(param(node, "value"), Object.prototype.hasOwnProperty.call(spec, "value") ? spec.value : "");
      } else if (op === "negate_when") {
        param(node, "path").value = spec.path || "";
        param(node, "values").value = (Array.isArray(spec.values) ? spec.values : []).join(", ");
      } else if (op === "join") {
        param(node, "paths").value = (Array.isArray(spec.paths) ? spec.paths : []).join("\n");
        param(node, "separator").value = spec.separator == null ? "" : String(spec.separator);
      } else if (op === "subtract") {
        param(node, "subtract_path").value = spec.path || "";
      } else if (op === "blank_if") {
        param(node, "blank_values").value = (Array.isArray(spec.values) ? spec.values : []).join(", ");
      }
    }

    function addTransform(fieldRow, spec) {
      var template = document.querySelector("template[data-transform-template]");
      var node = template.content.querySelector("[data-transform]").cloneNode(true);
      fieldRow.querySelector("[data-transforms]").appendChild(node);
      localise(node);
      linkLabels(node);
      var select = node.querySelector("[data-op]");
      var op = spec && spec.op;
      if (op && !select.querySelector('option[value="' + op + '"]')) {
        select.appendChild(el("option", { value: op }, [op])); // an operation this page does not know: kept as it is
      }
      if (spec && op) fillTransform(node, spec);
      if (!node.querySelector("[data-lookup-row]")) addLookupRow(node, "", "");
      refreshTransform(node);
      renumberTransforms(fieldRow);
      return node;
    }

    function buildTransform(node) {
      var op = node.querySelector("[data-op]").value;
      var out = { op: op };
      if (op === "parse_datetime") {
        var fmt = param(node, "format").value;
        var zone = param(node, "timezone").value.trim();
        if (fmt.trim()) out.format = fmt;
        if (zone) out.timezone = zone;
      } else if (op === "multiply") {
        var factorInput = param(node, "factor");
        var factor = readTyped(factorInput);
        if (typeof factor === "string") {
          var text = factor.trim().replace(",", ".");
          factor = text !== "" && isFinite(Number(text)) ? Number(text) : text;
        }
        var byPath = param(node, "multiply_path").value.trim();
        if (byPath) out.path = byPath; // a number in the same record, e.g. a unit conversion factor
        if (!byPath || factor !== "") out.factor = factor; // both given: the server says which to keep
      } else if (op === "lookup") {
        var table = {};
        node.querySelectorAll("[data-lookup-row]").forEach(function (lookupRow) {
          var key = lookupRow.querySelector("[data-lookup-key]").value.trim();
          if (key) table[key] = readTyped(lookupRow.querySelector("[data-lookup-value]"));
        });
        out.table = table;
        var fallback = param(node, "default");
        if (fallback.value !== "" || fallback.hasAttribute("data-json")) out["default"] = readTyped(fallback);
        var ignoreCase = param(node, "ignore_case").checked;
        if (!ignoreCase || node.hasAttribute("data-explicit-ignore-case")) out.ignore_case = ignoreCase;
      } else if (op === "default") {
        out.value = readTyped(param(node, "value"));
      } else if (op === "negate_when") {
        out.path = param(node, "path").value.trim();
        out.values = param(node, "values")
          .value.split(",")
          .map(function (v) {
            return v.trim();
          })
          .filter(Boolean);
      } else if (op === "join") {
        out.paths = param(node, "paths")
          .value.split("\n")
          .map(function (v) {
            return v.trim();
          })
          .filter(Boolean);
        var separator = param(node, "separator").value;
        if (separator !== "") out.separator = separator;
      } else if (op === "subtract") {
        out.path = param(node, "subtract_path").value.trim();
      } else if (op === "blank_if") {
        out.values = param(node, "blank_values")
          .value.split(",")
          .map(function (v) {
            return v.trim();
          })
          .filter(Boolean);
      }
      return out;
    }

    // ------------------------------------------------------------ the rules

    function setMode(fieldRow, mode) {
      fieldRow.setAttribute("data-mode", mode);
      fieldRow.querySelectorAll("[data-show-mode]").forEach(function (node) {
        node.hidden = node.getAttribute("data-show-mode") !== mode;
      });
      fieldRow.querySelectorAll("[data-hide-mode]").forEach(function (node) {
        node.hidden = node.getAttribute("data-hide-mode") === mode;
      });
    }

    function fillRow(fieldRow, rule) {
      var name = fieldRow.getAttribute("data-field");
      var pathInput = input(fieldRow, "fields." + name + ".path");
      var constantInput = input(fieldRow, "fields." + name + ".constant");
      var pathsInput = input(fieldRow, "fields." + name + ".paths");
      var defaultInput = input(fieldRow, "fields." + name + ".default");
      var modeSelect = input(fieldRow, "fields." + name + ".mode");
      transforms(fieldRow).forEach(function (node) {
        node.parentNode.removeChild(node);
      });
      pathInput.value = "";
      pathsInput.value = "";
      setTyped(constantInput, "");
      setTyped(defaultInput, "");
      var mode = "path";
      if (rule && typeof rule === "object") {
        if (Object.prototype.hasOwnProperty.call(rule, "constant")) {
          mode = "constant";
          setTyped(constantInput, rule.constant);
        } else if (Array.isArray(rule.paths)) {
          mode = "paths";
          pathsInput.value = rule.paths.join("\n");
        } else {
          pathInput.value = rule.path == null ? "" : String(rule.path);
        }
        if (Object.prototype.hasOwnProperty.call(rule, "default")) setTyped(defaultInput, rule["default"]);
        (Array.isArray(rule.transforms) ? rule.transforms : []).forEach(function (spec) {
          if (spec && typeof spec === "object") addTransform(fieldRow, spec);
        });
      }
      modeSelect.value = mode;
      setMode(fieldRow, mode);
    }

    // The rules about whole records: how balance rows combine (a select), and the skip and count rules (JSON, as the
    // mapping reference documents them). A text that is not JSON is sent as typed, so the API names the problem.
    function recordRule(name) {
      return form.querySelector('[name="' + name + '"]');
    }

    function jsonText(value) {
      return value == null ? "" : JSON.stringify(value, null, 2);
    }

    function readJson(node) {
      var text = node.value.trim();
      if (!text) return undefined;
      var parsed = parseJSON(text, undefined);
      return parsed === undefined ? text : parsed;
    }

    function fillForm(spec) {
      spec = spec && typeof spec === "object" ? spec : {};
      input(form, "record_path").value = spec.record_path || model.endpoint_record_path || "$";
      input(form, "timezone").value = spec.timezone || "";
      var combine = recordRule("combine");
      if (combine) combine.value = spec.combine === "last" ? "last" : "sum";
      var skip = recordRule("skip");
      if (skip) skip.value = jsonText(spec.skip);
      var count = recordRule("count");
      if (count) count.value = jsonText(spec.count);
      var unnest = recordRule("unnest");
      if (unnest) unnest.value = jsonText(spec.unnest);
      var fields = spec.fields && typeof spec.fields === "object" ? spec.fields : {};
      rows.forEach(function (fieldRow) {
        fillRow(fieldRow, fields[fieldRow.getAttribute("data-field")]);
      });
      clearErrors();
    }

    function buildRule(fieldRow) {
      var name = fieldRow.getAttribute("data-field");
      var mode = input(fieldRow, "fields." + name + ".mode").value;
      var chain = transforms(fieldRow).map(buildTransform);
      var defaultInput = input(fieldRow, "fields." + name + ".default");
      var hasDefault = mode !== "constant" && (defaultInput.value.trim() !== "" || defaultInput.hasAttribute("data-json"));
      var rule = {};
      if (mode === "constant") {
        var constantInput = input(fieldRow, "fields." + name + ".constant");
        if (constantInput.value.trim() === "" && !constantInput.hasAttribute("data-json") && !chain.length) return null;
        rule.constant = readTyped(constantInput);
      } else if (mode === "paths") {
        var paths = input(fieldRow, "fields." + name + ".paths").value.split("\n").map(function (line) {
          return line.trim();
        }).filter(function (line) {
          return line !== "";
        });
        if (!paths.length && !chain.length && !hasDefault) return null;
        rule.paths = paths;
      } else {
        var path = input(fieldRow, "fields." + name + ".path").value.trim();
        if (!path && !chain.length && !hasDefault) return null;
        rule.path = path;
      }
      if (chain.length) rule.transforms = chain;
      if (hasDefault) rule["default"] = readTyped(defaultInput);
      return rule;
    }

    function buildSpec() {
      var spec = {};
      var recordPath = input(form, "record_path").value.trim();
      var zone = input(form, "timezone").value.trim();
      if (recordPath) spec.record_path = recordPath;
      if (zone) spec.timezone = zone;
      var combine = recordRule("combine");
      if (combine) spec.combine = combine.value;
      ["skip", "count", "unnest"].forEach(function (name) {
        var node = recordRule(name);
        var value = node ? readJson(node) : undefined;
        if (value !== undefined) spec[name] = value;
      });
      spec.fields = {};
      rows.forEach(function (fieldRow) {
        var rule = buildRule(fieldRow);
        if (rule) spec.fields[fieldRow.getAttribute("data-field")] = rule;
      });
      return spec;
    }

    /** The required fields that have neither a path nor a constant yet. */
    function missingRequired() {
      var spec = buildSpec();
      return rows
        .filter(function (fieldRow) {
          return fieldRow.getAttribute("data-required") === "true";
        })
        .map(function (fieldRow) {
          return fieldRow.getAttribute("data-field");
        })
        .filter(function (name) {
          return !spec.fields[name];
        });
    }

    // ------------------------------------------------------------ errors next to the rules

    function clearErrors() {
      form.querySelectorAll("[data-field-error]").forEach(function (node) {
        node.parentNode.removeChild(node);
      });
      form.querySelectorAll('[aria-invalid="true"]').forEach(function (node) {
        node.removeAttribute("aria-invalid");
      });
      form.querySelectorAll(".is-invalid").forEach(function (node) {
        node.classList.remove("is-invalid");
      });
      hideBox(form.querySelector("[data-form-error]"));
    }

    function errorMessage(text) {
      return el("p", { class: "field-error", role: "alert", "data-field-error": "" }, [text]);
    }

    /** Shows `text` where the API's `field` points ("record_path", "fields.sku.path", "fields.kind.transforms[0]"). */
    function showFieldError(field, text, focus) {
      var path = String(field || "");
      var target = null;
      var holder = null;
      var whole = /^(record_path|timezone|combine|skip|count|unnest)\b/.exec(path);
      if (whole) {
        target = recordRule(whole[1]) || input(form, whole[1]);
        holder = target && target.closest(".field");
      } else {
        var ofDefault = /^fields\.([a-z_]+)\.default/.exec(path);
        if (ofDefault && row(ofDefault[1])) {
          target = input(row(ofDefault[1]), "fields." + ofDefault[1] + ".default");
          holder = target && target.closest("[data-hide-mode]");
          if (holder) row(ofDefault[1]).classList.add("is-invalid");
        }
      }
      if (!holder && !whole) {
        var match = /^fields\.([a-z_]+)(?:\.paths?(?:\[\d+\])?)?(?:\.transforms\[(\d+)\])?/.exec(path);
        var fieldRow = match && row(match[1]);
        if (fieldRow) {
          if (match[2] != null) {
            holder = transforms(fieldRow)[Number(match[2])] || null;
            target = holder && holder.querySelector("[data-op]");
          }
          if (!holder) {
            holder = fieldRow.querySelector(".field-rule-source");
            var mode = fieldRow.getAttribute("data-mode");
            target = input(fieldRow, "fields." + match[1] + "." + mode);
          }
          fieldRow.classList.add("is-invalid");
        }
      }
      if (!holder) return false;
      if (target) target.setAttribute("aria-invalid", "true");
      holder.classList.add("is-invalid");
      if (holder.hasAttribute("data-transform")) holder.appendChild(errorMessage(text));
      else holder.parentNode.insertBefore(errorMessage(text), holder.nextSibling);
      if (focus) {
        holder.scrollIntoView({ block: "center", behavior: "smooth" });
        if (target && !target.disabled) target.focus({ preventScroll: true });
      }
      return true;
    }

    function showTopError(text) {
      var box = form.querySelector("[data-form-error]");
      showBox(box, text);
      box.scrollIntoView({ block: "center", behavior: "smooth" });
    }

    /** A problem about the mapping itself: next to its field when it names one, else above the rules. */
    function showSpecProblem(result, focus) {
      var data = result.data || {};
      if (data.field && showFieldError(data.field, problemText(result), focus)) return true;
      if (focus) showTopError(problemText(result));
      return false;
    }

    function isSpecField(field) {
      return typeof field === "string" && /^(fields(\.|$)|record_path|timezone|combine|skip|count|unnest|mapping|spec)/.test(field);
    }

    // ------------------------------------------------------------ dirty state

    var unsaved = el("span", { class: "badge badge-warning", "data-testid": "unsaved-badge", hidden: true }, [label("mappings.editor.unsaved")]);
    var saveButton = root.querySelector("[data-save]");
    if (saveButton) saveButton.parentNode.insertBefore(unsaved, saveButton);

    function setDirty(value) {
      dirty = value;
      unsaved.hidden = !value;
    }

    window.addEventListener("beforeunload", function (event) {
      if (!dirty || !canManage) return;
      event.preventDefault();
      event.returnValue = "";
    });

    // ------------------------------------------------------------ live preview

    var previewPanel = root.querySelector("[data-preview-panel]");
    var previewButton = root.querySelector("[data-preview]");
    var autoPreview = root.querySelector("[data-auto-preview]");
    var previewStatus = previewPanel.querySelector("[data-preview-status]");
    var previewError = previewPanel.querySelector("[data-preview-error]");
    var sourcePanel = root.querySelector("[data-source-panel]");
    var previewSeq = 0;
    var previewTimer = null;
    var lastPreview = null;

    function setStatus(node, content, tone) {
      clear(node);
      node.appendChild(content);
      node.className = "test-status" + (tone ? " is-" + tone : "");
      node.hidden = false;
    }

    function formatValue(value) {
      if (value == null || value === "") return muted("—");
      if (typeof value === "number" || typeof value === "boolean") return el("span", { class: "num", dir: "ltr" }, [String(value)]);
      if (typeof value === "object") return code(shortJSON(value, 60));
      var text = String(value);
      var attrs = { dir: "auto", class: "preview-value" };
      if (/^-?\d+(\.\d+)?$/.test(text)) attrs = { dir: "ltr", class: "num" };
      else if (/^\d{4}-\d{2}-\d{2}T/.test(text)) attrs = { dir: "ltr", class: "num preview-value" };
      if (text.length > 60) {
        attrs.title = text;
        text = text.slice(0, 59) + "…";
      }
      return el("span", attrs, [text]);
    }

    function errorBadge(error) {
      var key = "mappings.record_error." + error.code;
      var badge = el("span", { class: "badge badge-danger preview-error", "data-testid": "preview-error", "data-code": error.code }, [
        known(key) ? label(key) : code(error.code),
      ]);
      var holder = el("span", { class: "preview-error-cell" }, [badge]);
      if (error.detail) holder.appendChild(el("span", { class: "cell-sub muted", dir: "ltr" }, [String(error.detail)]));
      return holder;
    }

    function selectRecord(index) {
      if (!lastPreview) return;
      var record = lastPreview.records.filter(function (r) {
        return r.index === index;
      })[0];
      if (!record) return;
      previewPanel.querySelectorAll("[data-record-index]").forEach(function (tr) {
        var selected = Number(tr.getAttribute("data-record-index")) === index;
        tr.classList.toggle("is-selected", selected);
        tr.setAttribute("aria-selected", selected ? "true" : "false");
      });
      sourcePanel.querySelector("[data-source-json]").textContent = JSON.stringify(record.source, null, 2);
      sourcePanel.querySelector("[data-source-index]").textContent = "#" + (index + 1);
      sourcePanel.hidden = false;
    }

    function previewColumns(data) {
      var used = {};
      Object.keys(buildSpec().fields).forEach(function (name) {
        used[name] = true;
      });
      data.records.forEach(function (record) {
        Object.keys(record.values || {}).forEach(function (name) {
          used[name] = true;
        });
        (record.errors || []).forEach(function (e) {
          used[e.field] = true;
        });
      });
      // The key columns (the required fields, such as the SKU) come first, so they are not off to the side.
      var shown = (model.fields || []).filter(function (f) {
        return used[f.name];
      });
      var columns = shown
        .filter(function (f) {
          return f.required;
        })
        .concat(
          shown.filter(function (f) {
            return !f.required;
          })
        )
        .map(function (f) {
          return f.name;
        });
      Object.keys(used).forEach(function (name) {
        if (columns.indexOf(name) < 0) columns.push(name);
      });
      return columns;
    }

    /** Balances and movements point at an item and a location: the preview shows what each record resolves to. */
    var RESOLVES = model.resource === "stock_balances" || model.resource === "stock_movements";

    /** The item or location a record resolves to (as a sync resolves it), "unknown" with the reference, or
     *  "no location" for a record without one (a sync puts it in the connector's "no location" bucket). */
    function resolvedCell(record, kind) {
      var ref = kind === "item" ? "item_ref" : "location_ref";
      var found = record[kind];
      var values = record.values;
      var cell = el("td", { "data-testid": "preview-" + kind, "data-resolved": found ? "true" : "false" });
      if (found) {
        cell.appendChild(el("span", { dir: "auto", class: "preview-value" }, [String(found.name)]));
        cell.appendChild(el("span", { class: "cell-sub muted", dir: "ltr" }, [String(kind === "item" ? found.sku : found.code)]));
      } else if (!values) {
        cell.appendChild(muted("—"));
      } else if (values[ref] == null) {
        cell.appendChild(el("span", { class: "muted" }, [label("mappings.preview.no_location")]));
      } else {
        cell.className = "is-error";
        cell.appendChild(el("span", { class: "badge badge-warning" }, [label("mappings.preview.unknown_" + kind)]));
        cell.appendChild(el("span", { class: "cell-sub muted", dir: "ltr" }, [String(values[ref])]));
      }
      return cell;
    }

    function renderPreview(data) {
      lastPreview = data;
      var wrap = previewPanel.querySelector("[data-preview-wrap]");
      var empty = previewPanel.querySelector("[data-preview-empty]");
      var head = clear(previewPanel.querySelector("[data-preview-head]"));
      var body = clear(previewPanel.querySelector("[data-preview-rows]"));
      var summary = el("span", { "data-testid": "preview-summary" }, [
        label("mappings.preview.summary", { mapped: data.mapped, failed: data.failed, total: data.records.length }),
      ]);
      if (data.skipped) {
        summary.appendChild(document.createTextNode(" · "));
        summary.appendChild(label("mappings.preview.skipped_count", { count: data.skipped }));
      }
      if (RESOLVES && data.unresolved) {
        summary.appendChild(document.createTextNode(" · "));
        summary.appendChild(label("mappings.preview.unresolved_count", { count: data.unresolved }));
      }
      if (data.url) summary.appendChild(el("span", { class: "cell-sub muted" }, [code(data.url, "preview-url")]));
      setStatus(previewStatus, summary, data.failed || (RESOLVES && data.unresolved) ? "failed" : "ok");
      if (!data.records.length) {
        wrap.hidden = true;
        clear(empty).appendChild(label("mappings.preview.no_records"));
        empty.hidden = false;
        sourcePanel.hidden = true;
        return;
      }
      var columns = previewColumns(data);
      // The first key column (the resolved item, or the first required field) stays in view when the table
      // scrolls sideways.
      var stickyColumn = RESOLVES ? null : columns[0];
      var headRow = el("tr", {}, [el("th", { scope: "col", class: "col-num" }, ["#"])]);
      if (RESOLVES) {
        headRow.appendChild(el("th", { scope: "col", class: "col-key", "data-testid": "preview-key-column" }, [label("mappings.preview.item")]));
        headRow.appendChild(el("th", { scope: "col" }, [label("mappings.preview.location")]));
      }
      columns.forEach(function (name) {
        var sticky = name === stickyColumn;
        headRow.appendChild(
          el("th", { scope: "col", title: name, class: sticky ? "col-key" : null, "data-testid": sticky ? "preview-key-column" : null }, [
            fieldLabel(name),
          ])
        );
      });
      head.appendChild(headRow);
      data.records.forEach(function (record) {
        var errors = {};
        (record.errors || []).forEach(function (e) {
          (errors[e.field] = errors[e.field] || []).push(e);
        });
        var failed = (record.errors || []).length > 0;
        var skipped = record.skipped != null;
        var tr = el("tr", {
          "data-record-index": String(record.index),
          "data-ok": failed ? "false" : "true",
          "data-skipped": skipped ? String(record.skipped) : null,
          "data-testid": "preview-row",
          class: failed ? "is-failed" : null,
          tabindex: "0",
          "aria-selected": "false",
        });
        tr.appendChild(el("td", { class: "col-num" }, [el("span", { class: "num" }, [String(record.index + 1)])]));
        if (skipped) {
          // Skipped by a rule: neither mapped nor set aside; a sync counts it as skipped.
          var note = el("span", { class: "badge badge-neutral", "data-testid": "preview-skipped" }, [
            label("mappings.preview.skipped_by", { rule: record.skipped + 1 }),
          ]);
          tr.appendChild(el("td", { colspan: String(columns.length + (RESOLVES ? 2 : 0)), class: "muted" }, [note]));
          body.appendChild(tr);
          return;
        }
        if (RESOLVES) {
          tr.appendChild(resolvedCell(record, "item")).classList.add("col-key");
          tr.appendChild(resolvedCell(record, "location"));
        }
        columns.forEach(function (name) {
          var cell = el("td", { "data-column": name, class: name === stickyColumn ? "col-key" : null });
          if (errors[name]) {
            cell.classList.add("is-error");
            errors[name].forEach(function (e) {
              cell.appendChild(errorBadge(e));
            });
          } else if (record.values && Object.prototype.hasOwnProperty.call(record.values, name)) {
            cell.appendChild(formatValue(record.values[name]));
          } else {
            cell.appendChild(muted("—"));
          }
          tr.appendChild(cell);
        });
        body.appendChild(tr);
      });
      wrap.hidden = false;
      empty.hidden = true;
      var firstFailed = data.records.filter(function (r) {
        return (r.errors || []).length;
      })[0];
      selectRecord((firstFailed || data.records[0]).index);
    }

    function runPreview(manual) {
      if (!canManage) return;
      clearTimeout(previewTimer);
      clearErrors();
      hideBox(previewError);
      var seq = ++previewSeq;
      setBusy(previewButton, true);
      setStatus(previewStatus, label("mappings.preview.running"), null);
      api("/api/mappings/preview", "POST", {
        connector_id: model.connector_id,
        endpoint_key: model.endpoint_key,
        spec: buildSpec(),
        limit: PREVIEW_LIMIT,
      }).then(
        function (result) {
          if (seq !== previewSeq) return; // a newer preview is on its way
          setBusy(previewButton, false);
          if (result.ok && result.data) {
            renderPreview(result.data);
            return;
          }
          if (result.status === 401) {
            signInAgain();
            return;
          }
          previewStatus.hidden = true;
          showBox(previewError, problemText(result));
          if (result.data && isSpecField(result.data.field)) showSpecProblem(result, manual);
        },
        function () {
          if (seq !== previewSeq) return;
          setBusy(previewButton, false);
          previewStatus.hidden = true;
          showBox(previewError, t("ui.js.error_network"));
        }
      );
    }

    function schedulePreview() {
      if (!canManage || !autoPreview || !autoPreview.checked) return;
      clearTimeout(previewTimer);
      previewTimer = setTimeout(function () {
        var missing = missingRequired();
        if (missing.length) {
          var text = el("span", {}, [label("mappings.preview.needs_required"), document.createTextNode(" ")]);
          missing.forEach(function (name, i) {
            if (i) text.appendChild(document.createTextNode(currentLang() === "ar" ? "، " : ", "));
            text.appendChild(code(name));
          });
          setStatus(previewStatus, text, null);
          return;
        }
        runPreview(false);
      }, AUTO_PREVIEW_DELAY);
    }

    if (previewButton) {
      previewButton.addEventListener("click", function (event) {
        event.preventDefault();
        runPreview(true);
      });
    }

    previewPanel.addEventListener("click", function (event) {
      var tr = event.target.closest("[data-record-index]");
      if (tr) selectRecord(Number(tr.getAttribute("data-record-index")));
    });
    previewPanel.addEventListener("keydown", function (event) {
      var tr = event.target.closest("[data-record-index]");
      if (!tr) return;
      if (event.key === "Enter" || event.key === " ") {
        event.preventDefault();
        selectRecord(Number(tr.getAttribute("data-record-index")));
      } else if (event.key === "ArrowDown" || event.key === "ArrowUp") {
        var next = event.key === "ArrowDown" ? tr.nextElementSibling : tr.previousElementSibling;
        if (next) {
          event.preventDefault();
          next.focus();
          selectRecord(Number(next.getAttribute("data-record-index")));
        }
      }
    });

    // ------------------------------------------------------------ editing

    form.addEventListener("submit", function (event) {
      event.preventDefault();
    });

    form.addEventListener("change", function (event) {
      var target = event.target;
      if (target.hasAttribute("data-mode-select")) {
        setMode(target.closest("[data-field]"), target.value);
      } else if (target.hasAttribute("data-op")) {
        refreshTransform(target.closest("[data-transform]"));
      }
      setDirty(true);
      schedulePreview();
    });

    form.addEventListener("input", function (event) {
      var target = event.target;
      if (target.getAttribute("aria-invalid") === "true") target.removeAttribute("aria-invalid");
      setDirty(true);
      schedulePreview();
    });

    form.addEventListener("click", function (event) {
      var target = event.target;
      if (!canManage) return;
      var fieldRow = target.closest("[data-field]");
      var node = target.closest("[data-transform]");
      if (target.closest("[data-add-transform]")) {
        event.preventDefault();
        var added = addTransform(fieldRow, null);
        added.querySelector("[data-op]").focus();
      } else if (target.closest("[data-remove-transform]")) {
        event.preventDefault();
        node.parentNode.removeChild(node);
        renumberTransforms(fieldRow);
        var add = fieldRow.querySelector("[data-add-transform]");
        if (add) add.focus();
      } else if (target.closest("[data-move]")) {
        event.preventDefault();
        var up = target.closest("[data-move]").getAttribute("data-move") === "up";
        var sibling = up ? node.previousElementSibling : node.nextElementSibling;
        if (!sibling) return;
        node.parentNode.insertBefore(node, up ? sibling : sibling.nextElementSibling);
        renumberTransforms(fieldRow);
        var again = node.querySelector('[data-move="' + (up ? "up" : "down") + '"]');
        if (again && !again.disabled) again.focus();
      } else if (target.closest("[data-add-lookup-row]")) {
        event.preventDefault();
        var lookupRow = addLookupRow(node, "", "");
        renumberTransforms(fieldRow);
        lookupRow.querySelector("[data-lookup-key]").focus();
      } else if (target.closest("[data-remove-lookup-row]")) {
        event.preventDefault();
        var r = target.closest("[data-lookup-row]");
        r.parentNode.removeChild(r);
      } else {
        return;
      }
      setDirty(true);
      schedulePreview();
    });

    // ------------------------------------------------------------ versions

    var versionsPanel = root.querySelector("[data-versions-panel]");
    var versionsError = versionsPanel.querySelector("[data-versions-error]");
    var savedStatus = root.querySelector("[data-saved-status]");

    function flash(content) {
      clear(savedStatus).appendChild(content);
      savedStatus.hidden = false;
    }

    function versionOf(number) {
      return ((mapping && mapping.versions) || []).filter(function (v) {
        return v.version === number;
      })[0];
    }

    function versionRow(v) {
      var actions = el("td", { class: "col-actions" }, [
        el("button", { type: "button", class: "btn btn-ghost btn-sm", "data-load-version": String(v.version), "data-testid": "load-version" }, [
          label("mappings.versions.load"),
        ]),
      ]);
      if (canManage && !v.active) {
        actions.appendChild(document.createTextNode(" "));
        actions.appendChild(
          el("button", { type: "button", class: "btn btn-outline btn-sm", "data-activate-version": String(v.version), "data-testid": "activate-version" }, [
            label("mappings.versions.activate"),
          ])
        );
      }
      return el(
        "tr",
        { "data-testid": "version-row", "data-version": String(v.version), "data-active": v.active ? "true" : "false", class: v.active ? "is-active" : null },
        [
          el("td", { class: "col-num" }, [el("span", { class: "num" }, [String(v.version)])]),
          el("td", {}, [v.note ? el("span", { dir: "auto" }, [v.note]) : muted("—")]),
          el("td", {}, [el("bdi", { dir: "auto" }, [v.author || ""])]),
          el("td", {}, [timeEl(v.created_at)]),
          el("td", {}, [
            v.active ? el("span", { class: "badge badge-success", "data-testid": "active-badge" }, [label("mappings.versions.active")]) : muted("—"),
          ]),
          actions,
        ]
      );
    }

    function fillSelect(select, versions, chosen) {
      clear(select);
      versions.forEach(function (v) {
        select.appendChild(el("option", { value: String(v.version) }, [String(v.version)]));
      });
      if (chosen != null) select.value = String(chosen);
    }

    function renderMapping(data) {
      mapping = data;
      root.setAttribute("data-mapping-id", data.id);
      var versions = data.versions || [];
      var holder = clear(root.querySelector("[data-mapping-status]"));
      holder.appendChild(
        el("span", { class: "badge badge-success", "data-testid": "mapping-status", "data-active-version": String(data.active_version) }, [
          label("mappings.section.mapped", { version: data.active_version }),
        ])
      );
      var tbody = clear(versionsPanel.querySelector("[data-version-rows]"));
      versions.forEach(function (v) {
        tbody.appendChild(versionRow(v));
      });
      versionsPanel.querySelector("[data-versions-wrap]").hidden = !versions.length;
      versionsPanel.querySelector("[data-versions-empty]").hidden = versions.length > 0;
      var diffPanel = versionsPanel.querySelector("[data-diff-panel]");
      diffPanel.hidden = versions.length < 2;
      if (versions.length >= 2) {
        fillSelect(diffPanel.querySelector("[data-diff-left]"), versions, versions[1].version);
        fillSelect(diffPanel.querySelector("[data-diff-right]"), versions, versions[0].version);
      }
      var title = root.querySelector("[data-save-title]");
      if (title) {
        title.setAttribute("data-i18n", "mappings.save.title");
        title.textContent = t("mappings.save.title");
      }
      // From the second version on, the note is asked for.
      var noteLabel = root.querySelector("[data-save-note-label]");
      if (noteLabel) clear(noteLabel).appendChild(label("mappings.save.note"));
      var noteInput = root.querySelector("[data-save-dialog] [name='note']");
      if (noteInput) noteInput.required = true;
    }

    versionsPanel.addEventListener("click", function (event) {
      var load = event.target.closest("[data-load-version]");
      var activate = event.target.closest("[data-activate-version]");
      if (load) {
        event.preventDefault();
        var number = Number(load.getAttribute("data-load-version"));
        var v = versionOf(number);
        if (!v) return;
        fillForm(v.spec);
        setDirty(!v.active);
        flash(label("mappings.versions.loaded", { version: number }));
        form.scrollIntoView({ block: "start", behavior: "smooth" });
        schedulePreview();
      } else if (activate && canManage && mapping) {
        event.preventDefault();
        if (activate.classList.contains("is-busy")) return;
        askToActivate(activate, Number(activate.getAttribute("data-activate-version")));
      }
    });

    // Going back to an earlier version asks in the page's styled dialog, like saving does (never window.confirm).
    var activateDialog = root.querySelector("[data-activate-dialog]");
    var pendingActivation = null;
    var activateReturnFocus = null;

    function askToActivate(button, version) {
      if (!activateDialog) return;
      pendingActivation = { button: button, version: version };
      activateReturnFocus = button;
      clear(activateDialog.querySelector("[data-activate-text]")).appendChild(
        label("mappings.versions.activate_confirm", { version: version })
      );
      if (typeof activateDialog.showModal === "function") activateDialog.showModal();
      else activateDialog.setAttribute("open", "");
      activateDialog.querySelector("[data-activate-confirm]").focus();
    }

    function closeActivateDialog() {
      if (typeof activateDialog.close === "function") activateDialog.close();
      else activateDialog.removeAttribute("open");
    }

    if (activateDialog) {
      activateDialog.querySelector("[data-activate-cancel]").addEventListener("click", function (event) {
        event.preventDefault();
        pendingActivation = null;
        closeActivateDialog();
      });
      activateDialog.addEventListener("close", function () {
        pendingActivation = null; // Escape or Cancel: nothing changes
        if (activateReturnFocus && document.contains(activateReturnFocus)) activateReturnFocus.focus();
        activateReturnFocus = null;
      });
      activateDialog.querySelector("[data-activate-form]").addEventListener("submit", function (event) {
        event.preventDefault();
        var chosen = pendingActivation;
        pendingActivation = null;
        closeActivateDialog();
        if (chosen) activateVersion(chosen.button, chosen.version);
      });
    }

    function activateVersion(activate, version) {
      hideBox(versionsError);
      setBusy(activate, true);
      api("/api/mappings/" + encodeURIComponent(mapping.id) + "/activate/" + version, "POST").then(
        function (result) {
          setBusy(activate, false);
          if (result.ok && result.data) {
            renderMapping(result.data);
            var active = versionOf(result.data.active_version);
            if (active) fillForm(active.spec);
            setDirty(false);
            flash(label("mappings.versions.activated", { version: version }));
            runCompare();
            return;
          }
          if (result.status === 401) {
            signInAgain();
            return;
          }
          showBox(versionsError, problemText(result));
        },
        function () {
          setBusy(activate, false);
          showBox(versionsError, t("ui.js.error_network"));
        }
      );
    }

    // ------------------------------------------------------------ diff

    var diffPanel = versionsPanel.querySelector("[data-diff-panel]");
    var diffSeq = 0;

    function diffFieldLabel(name) {
      if (name === "record_path") return label("mappings.editor.record_path");
      if (name === "timezone") return label("mappings.editor.timezone");
      return fieldLabel(name);
    }

    function applyShowSame() {
      var all = diffPanel.querySelector("[data-diff-all]").checked;
      diffPanel.querySelectorAll('[data-diff-rows] tr[data-change="same"]').forEach(function (tr) {
        tr.hidden = !all;
      });
    }

    function renderDiff(rows) {
      var tbody = clear(diffPanel.querySelector("[data-diff-rows]"));
      var changed = 0;
      rows.forEach(function (d) {
        if (d.change !== "same") changed += 1;
        var tone = { added: "success", removed: "danger", changed: "warning", same: "neutral" }[d.change] || "neutral";
        var key = "mappings.diff.kind." + d.change;
        tbody.appendChild(
          el("tr", { "data-testid": "diff-row", "data-field": d.field, "data-change": d.change, class: "diff-" + d.change }, [
            el("td", {}, [diffFieldLabel(d.field), el("span", { class: "cell-sub" }, [code(d.field, "muted")])]),
            el("td", {}, [el("span", { class: "badge badge-" + tone }, [known(key) ? label(key) : d.change])]),
            el("td", {}, [d.before == null ? muted("—") : code(ruleText(d.before), "diff-value")]),
            el("td", {}, [d.after == null ? muted("—") : code(ruleText(d.after), "diff-value")]),
          ])
        );
      });
      diffPanel.querySelector("[data-diff-wrap]").hidden = false;
      diffPanel.querySelector("[data-diff-same]").hidden = changed > 0;
      applyShowSame();
    }

    function runCompare() {
      if (!mapping || (mapping.versions || []).length < 2) return;
      var left = diffPanel.querySelector("[data-diff-left]").value;
      var right = diffPanel.querySelector("[data-diff-right]").value;
      var button = diffPanel.querySelector("[data-compare]");
      var error = diffPanel.querySelector("[data-diff-error]");
      hideBox(error);
      var seq = ++diffSeq;
      setBusy(button, true);
      var url = "/api/mappings/" + encodeURIComponent(mapping.id) + "/diff?left=" + encodeURIComponent(left) + "&right=" + encodeURIComponent(right);
      api(url, "GET").then(
        function (result) {
          if (seq !== diffSeq) return;
          setBusy(button, false);
          if (result.ok && Array.isArray(result.data)) {
            renderDiff(result.data);
            return;
          }
          if (result.status === 401) {
            signInAgain();
            return;
          }
          showBox(error, problemText(result));
        },
        function () {
          if (seq !== diffSeq) return;
          setBusy(button, false);
          showBox(error, t("ui.js.error_network"));
        }
      );
    }

    diffPanel.querySelector("[data-compare]").addEventListener("click", function (event) {
      event.preventDefault();
      runCompare();
    });
    diffPanel.addEventListener("change", function (event) {
      if (event.target.hasAttribute("data-diff-all")) applyShowSame();
      else if (event.target.matches("[data-diff-left], [data-diff-right]")) runCompare();
    });

    // ------------------------------------------------------------ saving

    var dialog = root.querySelector("[data-save-dialog]");

    function openDialog() {
      var saveError = dialog.querySelector("[data-save-error]");
      hideBox(saveError);
      if (typeof dialog.showModal === "function") dialog.showModal();
      else dialog.setAttribute("open", "");
      dialog.querySelector("[name='note']").focus();
    }

    function closeDialog() {
      if (typeof dialog.close === "function") dialog.close();
      else dialog.removeAttribute("open");
    }

    if (saveButton && dialog) {
      saveButton.addEventListener("click", function (event) {
        event.preventDefault();
        clearErrors();
        var missing = missingRequired();
        if (missing.length) {
          missing.forEach(function (name, i) {
            showFieldError("fields." + name, t("errors.mapping_required_field_unmapped", { detail: name }), i === 0);
          });
          return;
        }
        openDialog();
      });

      dialog.querySelector("[data-save-cancel]").addEventListener("click", function (event) {
        event.preventDefault();
        closeDialog();
      });

      dialog.querySelector("[data-save-form]").addEventListener("submit", function (event) {
        event.preventDefault();
        var confirmButton = dialog.querySelector("[data-save-confirm]");
        if (confirmButton.classList.contains("is-busy")) return;
        var noteInput = dialog.querySelector("[name='note']");
        var note = noteInput.value.trim();
        var saveError = dialog.querySelector("[data-save-error]");
        hideBox(saveError);
        // The first version needs no note; every later one says what changed (the API accepts either).
        if (!note && mapping) {
          noteInput.setAttribute("aria-invalid", "true");
          showBox(saveError, t("mappings.save.note_required"));
          noteInput.focus();
          return;
        }
        noteInput.removeAttribute("aria-invalid");
        var spec = buildSpec();
        var creating = !mapping;
        var request = creating
          ? api("/api/mappings", "POST", { connector_id: model.connector_id, endpoint_key: model.endpoint_key, spec: spec, note: note })
          : api("/api/mappings/" + encodeURIComponent(mapping.id) + "/versions", "POST", { spec: spec, note: note, activate: true });
        setBusy(confirmButton, true);
        request.then(
          function (result) {
            setBusy(confirmButton, false);
            if (result.ok && result.data) {
              closeDialog();
              noteInput.value = "";
              renderMapping(result.data);
              setDirty(false);
              var store = storage();
              if (store) store.removeItem(suggestionKey(model.connector_id, model.endpoint_key));
              var notice = root.querySelector("[data-suggestion-notice]");
              if (notice) notice.hidden = true;
              flash(
                creating
                  ? label("mappings.save.created")
                  : label("mappings.save.saved", { version: result.data.active_version })
              );
              savedStatus.scrollIntoView({ block: "nearest", behavior: "smooth" });
              runCompare();
              return;
            }
            if (result.status === 401) {
              signInAgain();
              return;
            }
            if (result.data && isSpecField(result.data.field)) {
              closeDialog();
              showSpecProblem(result, true);
              return;
            }
            showBox(saveError, problemText(result));
          },
          function () {
            setBusy(confirmButton, false);
            showBox(saveError, t("ui.js.error_network"));
          }
        );
      });
    }

    // ------------------------------------------------------------ start

    fillForm(model.spec || { record_path: model.endpoint_record_path, fields: {} });

    // A suggestion from capability discovery (sessionStorage, written by the discovery page).
    var params = new URLSearchParams(window.location.search);
    if (params.get("suggestion") === "1" && canManage) {
      var store = storage();
      var suggestion = parseJSON(store ? store.getItem(suggestionKey(model.connector_id, model.endpoint_key)) : null, null);
      var notice = root.querySelector("[data-suggestion-notice]");
      if (suggestion && typeof suggestion === "object" && suggestion.fields && notice) {
        notice.hidden = false;
        if (!mapping) {
          fillForm(suggestion);
          setDirty(true);
          notice.setAttribute("data-prefilled", "true");
          schedulePreview();
        } else {
          var text = notice.querySelector("[data-suggestion-text]");
          var loadButton = notice.querySelector("[data-load-suggestion]");
          clear(text).appendChild(label("mappings.editor.suggestion.available"));
          loadButton.hidden = false;
          loadButton.addEventListener("click", function () {
            fillForm(suggestion);
            setDirty(true);
            loadButton.hidden = true;
            clear(text).appendChild(label("mappings.editor.suggestion.loaded"));
            notice.setAttribute("data-prefilled", "true");
            schedulePreview();
          });
        }
      }
    }
    if (mapping && (mapping.versions || []).length >= 2) runCompare();
    root.setAttribute("data-ready", "true");
  }

  // ---------------------------------------------------------------- start

  function start() {
    var ready = A.loadCatalogue().catch(function () {});
    // Script-written text follows the page's language once the catalogue is in; the page works without it.
    ready.then(function () {
      var editor = document.querySelector("[data-mapping-editor]");
      if (editor) initEditor(editor);
    });
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})();
