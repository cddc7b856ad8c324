/* Atlas — the policies page: sends the whole form as one new policy version.
 * The server checks every field and answers problem details naming the field, in the page's language.
 * A save reloads the page (the new version, its figures formatted by the server) and the reloaded page says
 * it was saved: a flag in sessionStorage carries that across the reload. */
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

  function numberOrNull(value) {
    value = (value || "").trim();
    return value === "" ? null : value;
  }

  function intOf(value) {
    value = (value || "").trim();
    return /^-?\d+$/.test(value) ? parseInt(value, 10) : value;
  }

  function collect(form) {
    var rules = {
      max_items_per_action: intOf(form.elements.max_items_per_action.value),
      max_value_sar_per_action: numberOrNull(form.elements.max_value_sar_per_action.value),
      dry_run_required_over_value_sar: numberOrNull(form.elements.dry_run_required_over_value_sar.value),
      expiry_hours: intOf(form.elements.expiry_hours.value),
      reminder_before_hours: intOf(form.elements.reminder_before_hours.value),
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
        var text = (input.value || "").trim();
        var number = Number(text);
        rules.service_levels[input.getAttribute("data-service-level")] =
          text !== "" && isFinite(number) ? Math.round(number * 10) / 1000 : text;
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
    form.addEventListener("submit", function (event) {
      event.preventDefault();
      var button = form.querySelector('[type="submit"]');
      box.hidden = true;
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
