/* Atlas — the policies page: sends the whole form as one new policy version.
 * The server checks every field and answers problem details naming the field, in the page's language.
 * A save reloads the page (the new version, its figures formatted by the server) and the reloaded page says
 * it was saved: a flag in sessionStorage carries that across the reload.
 *
 * Figures are text inputs in the page's CLDR form (250,000.00): a person may type them in either language,
 * with Western or Arabic-Indic digits (٢٥٠٬٠٠٠٫٥٠), Arabic's separators (٬ thousands, ٫ decimal), commas or
 * spaces between thousands. `readFigure` turns that into the exact decimal text the API takes ("250000.50": no
 * float on the way, so no rounding), or refuses it: the field then shows its message and nothing is sent. */
(function () {
  "use strict";

  var SAVED_FLAG = "atlas.policies.saved";

  function storage() {
    try {
      return window.sessionStorage;
    } catch (e) {
      return null; // storage blocked: the page still reloads, without the notice
    }
  }

  function showSavedNotice() {
    var store = storage();
    var notice = document.querySelector("[data-policy-saved]");
    if (!store || !notice || store.getItem(SAVED_FLAG) !== "1") return;
    store.removeItem(SAVED_FLAG);
    notice.hidden = false;
  }

  // ---------------------------------------------------------------- figures typed in either language

  var GROUP_MARKS = /[,\u066c\s\u00a0\u202f\u2009'\u2019]/g; // thousands: comma, ٬, spaces, apostrophes
  var BIDI_MARKS = /[\u200e\u200f\u061c\u2066-\u2069]/g; // direction marks a paste from Arabic text may carry

  /** Western digits and separators for Arabic-Indic (٠-٩) and Extended Arabic-Indic (۰-۹) ones. */
  function latinDigits(text) {
    return text
      .replace(/[\u0660-\u0669]/g, function (d) {
        return String(d.charCodeAt(0) - 0x0660);
      })
      .replace(/[\u06f0-\u06f9]/g, function (d) {
        return String(d.charCodeAt(0) - 0x06f0);
      })
      .replace(/\u066b/g, ".");
  }

  /** What a person typed as exact decimal text ("250000.50"), "" when empty, or null when it is not a number
   *  (`whole`: not a whole number). Thousands separators must group by threes ("1,5" is refused, not read as
   *  15), so a decimal comma typed by habit cannot change the value silently. */
  function readFigure(text, whole) {
    var plain = latinDigits(String(text || "").replace(BIDI_MARKS, "")).trim();
    if (plain === "") return "";
    var found = /^([-+]?)([0-9,\u066c\s\u00a0\u202f\u2009'\u2019]*)(?:\.([0-9]+))?$/.exec(plain);
    if (!found) return null;
    var intPart = found[2].trim();
    if (intPart !== "" && !/^[0-9]+$/.test(intPart)) {
      var groups = intPart.split(GROUP_MARKS);
      var grouped = /^[0-9]{1,3}$/.test(groups[0]) && groups.slice(1).every(function (g) {
        return /^[0-9]{3}$/.test(g);
      });
      if (!grouped) return null;
    }
    var digits = intPart.replace(GROUP_MARKS, "");
    var fraction = found[3] || "";
    if (digits === "" && fraction === "") return null;
    if (whole && fraction !== "" && !/^0+$/.test(fraction)) return null;
    var number = (digits.replace(/^0+(?=[0-9])/, "") || "0") + (whole || fraction === "" ? "" : "." + fraction);
    return (found[1] === "-" ? "-" : "") + number;
  }

  /** A decimal text shown as the page's language prints it (CLDR through Intl, Latin digits as the server's
   *  Babel writes them): "250000.5" → "250,000.50" for money. Intl formats the text itself, not a float. */
  function formatFigure(value, kind) {
    var lang = document.documentElement.getAttribute("lang") === "en" ? "en" : "ar";
    var options = { numberingSystem: "latn" };
    if (kind === "money") {
      options.minimumFractionDigits = 2;
      options.maximumFractionDigits = 2;
    } else {
      options.maximumFractionDigits = 20;
    }
    return new Intl.NumberFormat(lang, options).format(value);
  }

  /** Reads one figure field; marks it and shows its message when it does not read as a number. */
  function checkField(input) {
    var kind = input.getAttribute("data-number");
    var value = readFigure(input.value, kind === "count");
    var bad = value === null || (value === "" && !input.hasAttribute("data-optional"));
    var error = input.closest(".field, td").querySelector("[data-number-error]");
    if (bad) input.setAttribute("aria-invalid", "true");
    else input.removeAttribute("aria-invalid");
    if (error) error.hidden = !bad;
    var shown = input.closest(".field") && input.closest(".field").querySelector("[data-money-shown]");
    if (shown) {
      var figure = shown.querySelector(".num");
      if (!bad && value !== "" && figure) {
        var text = formatFigure(value, "money");
        figure.textContent = text;
        figure.setAttribute("data-text-ar", text); // the figure reads alike in both languages (Latin digits)
        figure.setAttribute("data-text-en", text);
      }
      shown.hidden = bad || value === "";
    }
    return bad ? null : value;
  }

  function checkAll(form) {
    var bad = [];
    form.querySelectorAll("input[data-number]").forEach(function (input) {
      if (checkField(input) === null) bad.push(input);
    });
    return bad;
  }

  function figure(form, name) {
    var input = form.elements[name];
    return readFigure(input.value, input.getAttribute("data-number") === "count");
  }

  function collect(form) {
    var rules = {
      max_items_per_action: parseInt(figure(form, "max_items_per_action"), 10),
      max_value_sar_per_action: figure(form, "max_value_sar_per_action"),
      dry_run_required_over_value_sar: figure(form, "dry_run_required_over_value_sar") || null,
      expiry_hours: parseInt(figure(form, "expiry_hours"), 10),
      reminder_before_hours: parseInt(figure(form, "reminder_before_hours"), 10),
      approvals: {},
    };
    form.querySelectorAll("[data-list]").forEach(function (group) {
      var values = [];
      group.querySelectorAll("input[type=checkbox]").forEach(function (box) {
        if (box.checked) values.push(box.value);
      });
      rules[group.getAttribute("data-list")] = values;
    });
    form.querySelectorAll("select[data-approvals-env]").forEach(function (select) {
      var env = select.getAttribute("data-approvals-env");
      rules.approvals[env] = rules.approvals[env] || {};
      rules.approvals[env][select.getAttribute("data-approvals-priority")] = parseInt(select.value, 10);
    });
    // Service levels are shown in percent (one decimal) and sent as fractions (three decimals).
    var levels = form.querySelectorAll("input[data-service-level]");
    if (levels.length) {
      rules.service_levels = {};
      levels.forEach(function (input) {
        var number = Number(readFigure(input.value, false)); // checked by checkAll before collect
        rules.service_levels[input.getAttribute("data-service-level")] = Math.round(number * 10) / 1000;
      });
    }
    var note = form.elements.note ? form.elements.note.value.trim() : "";
    return { rules: rules, note: note };
  }

  function start() {
    showSavedNotice();
    var form = document.querySelector("[data-policy-form]");
    if (!form || !window.Atlas) return;
    var box = form.querySelector("[data-form-error]");
    // A figure is read when the person leaves it: shown in the page's form (٢٥٠٬٠٠٠٫٥٠ → 250,000.50), or marked.
    form.querySelectorAll("input[data-number]").forEach(function (input) {
      input.addEventListener("change", function () {
        var value = checkField(input);
        if (value) input.value = formatFigure(value, input.getAttribute("data-number"));
      });
    });
    form.addEventListener("submit", function (event) {
      event.preventDefault();
      var button = form.querySelector('[type="submit"]');
      box.hidden = true;
      var bad = checkAll(form);
      if (bad.length) {
        box.textContent = form.querySelector("[data-fix-fields-text]").textContent.trim();
        box.hidden = false;
        bad[0].focus();
        return;
      }
      window.Atlas.setBusy(button, true);
      window.Atlas.api("/api/policies", "POST", collect(form))
        .then(function (result) {
          if (result.ok) {
            var store = storage();
            if (store) store.setItem(SAVED_FLAG, "1");
            window.location.reload();
            return;
          }
          window.Atlas.setBusy(button, false);
          if (result.status === 401) {
            window.Atlas.signInAgain();
            return;
          }
          box.textContent = window.Atlas.problemMessage(result);
          box.hidden = false;
        })
        .catch(function () {
          window.Atlas.setBusy(button, false);
          box.textContent = window.Atlas.t("ui.js.error_network");
          box.hidden = false;
        });
    });
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})();
