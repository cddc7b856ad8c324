/* Atlas — billing pages: the plan buttons, the payment form, the invoice's print button.
 *
 * The card never reaches Atlas. The card inputs have no `name`, the form has no action, and this script
 * sends the card from the browser straight to Moyasar's /v1/tokens with the publishable key; Atlas only
 * receives the resulting token id and the chosen plan (POST /api/payments), then the browser goes to
 * Moyasar's 3-D Secure page, which returns to /api/payments/callback.
 */
(function () {
  "use strict";

  var A = window.Atlas;

  // mada BIN prefixes (6 and 8 digits), as Moyasar's official SDK lists them (moyasar.md section 7);
  // checked before Visa and Mastercard, since mada cards also start with 4 or 5.
  var MADA = [
    "22337902", "22337986", "22402030", "242030", "403024", "40545400", "406136", "406996", "40719700",
    "40739500", "407520", "409201", "410621", "410685", "410834", "412565", "417633", "419593", "420132",
    "421141", "422817", "422818", "422819", "428331", "428671", "428672", "428673", "431361", "432328",
    "434107", "439954", "440533", "440647", "440795", "442463", "445564", "446393", "446404", "446672",
    "45488707", "455036", "455708", "457865", "457997", "458456", "462220", "468540", "468541", "468542",
    "468543", "474491", "483010", "483011", "483012", "484783", "486094", "486095", "486096", "489318",
    "489319", "49098000", "492464", "504300", "513213", "515079", "516138", "520058", "521076", "52166100",
    "524130", "524514", "524940", "529415", "529741", "530060", "531196", "535825", "535989", "536023",
    "537767", "53973776", "543085", "543357", "549760", "554180", "555610", "558563", "588845", "588848",
    "588850", "589206", "604906", "636120", "968201", "968202", "968203", "968204", "968205", "968206",
    "968207", "968208", "968209", "968211",
  ];

  function digits(value) {
    return (value || "").replace(/\D+/g, "");
  }

  /** mada, visa, master, or "" — what the number looks like (Moyasar's answer is authoritative later). */
  function brandOf(number) {
    for (var i = 0; i < MADA.length; i++) if (number.indexOf(MADA[i]) === 0) return "mada";
    if (/^4/.test(number)) return "visa";
    if (/^(5[1-5]|2(2[2-9][1-9]|2[3-9]|[3-6]|7[01]|720))/.test(number)) return "master";
    return "";
  }

  var BRAND_LABELS = { mada: "mada", visa: "Visa", master: "Mastercard" };

  function luhn(number) {
    var sum = 0;
    var double = false;
    for (var i = number.length - 1; i >= 0; i--) {
      var d = number.charCodeAt(i) - 48;
      if (double) {
        d *= 2;
        if (d > 9) d -= 9;
      }
      sum += d;
      double = !double;
    }
    return number.length >= 12 && sum % 10 === 0;
  }

  function message(key) {
    var text = A.t(key);
    if (text !== key) return text;
    var holder = document.querySelector('[data-billing-strings] [data-i18n="' + key + '"]');
    return holder ? holder.textContent.trim() : key;
  }

  function showError(form, text) {
    var box = form.querySelector("[data-form-error]");
    if (!box) return;
    box.textContent = text;
    box.hidden = false;
  }

  function field(form, name) {
    return form.querySelector('[data-card="' + name + '"]');
  }

  /** Checks the card fields in the browser; returns the card or null (with the error shown). */
  function readCard(form) {
    var name = field(form, "name").value.trim().replace(/\s+/g, " ");
    var number = digits(field(form, "number").value);
    var month = digits(field(form, "month").value);
    var year = digits(field(form, "year").value);
    var cvc = digits(field(form, "cvc").value);
    if (year.length === 2) year = "20" + year;
    if (name.split(" ").length < 2) return showError(form, message("billing.pay.invalid_name")), null;
    if (!luhn(number) || !brandOf(number)) return showError(form, message("billing.pay.invalid_card")), null;
    var m = parseInt(month, 10);
    var y = parseInt(year, 10);
    var now = new Date();
    if (!(m >= 1 && m <= 12) || !(y >= now.getFullYear()) || (y === now.getFullYear() && m < now.getMonth() + 1)) {
      return showError(form, message("billing.pay.invalid_expiry")), null;
    }
    if (!/^\d{3,4}$/.test(cvc)) return showError(form, message("billing.pay.invalid_cvc")), null;
    return { name: name, number: number, month: String(m), year: String(y), cvc: cvc };
  }

  /** POST the card to Moyasar's token endpoint with the publishable key (Basic auth, empty password). */
  function tokenize(form, card) {
    var base = form.getAttribute("data-moyasar-url").replace(/\/+$/, "");
    var body = {
      name: card.name,
      number: card.number,
      month: card.month,
      year: card.year,
      cvc: card.cvc,
      callback_url: form.getAttribute("data-callback-url"),
      save_only: true,
    };
    return fetch(base + "/tokens", {
      method: "POST",
      mode: "cors",
      credentials: "omit",
      headers: {
        "Content-Type": "application/json",
        Accept: "application/json",
        Authorization: "Basic " + btoa(form.getAttribute("data-publishable-key") + ":"),
      },
      body: JSON.stringify(body),
    }).then(function (res) {
      return res.text().then(function (text) {
        var data = A.parseJSON(text, null);
        if (!res.ok || !data || !data.id) {
          var reason = (data && (data.message || data.type)) || "HTTP " + res.status;
          throw new Error(message("billing.pay.tokenize_failed") + " " + reason);
        }
        return data;
      });
    });
  }

  function initPaymentForm(form) {
    var number = field(form, "number");
    var badge = form.querySelector('[data-testid="card-brand"]');
    number.addEventListener("input", function () {
      var d = digits(number.value).slice(0, 19);
      number.value = d.replace(/(\d{4})(?=\d)/g, "$1 ");
      var brand = brandOf(d);
      badge.textContent = BRAND_LABELS[brand] || "";
      badge.setAttribute("data-brand", brand);
    });
    form.addEventListener("submit", function (event) {
      event.preventDefault();
      var box = form.querySelector("[data-form-error]");
      if (box) box.hidden = true;
      var plan = form.querySelector('input[name="plan"]:checked');
      var card = readCard(form);
      if (!card || !plan) return;
      var submit = form.querySelector('[type="submit"]');
      A.setBusy(submit, true);
      tokenize(form, card)
        .then(function (token) {
          // Forget the card as soon as Moyasar has it.
          ["number", "cvc"].forEach(function (n) {
            field(form, n).value = "";
          });
          return A.api("/api/payments", "POST", { plan: plan.value, token: token.id });
        })
        .then(function (result) {
          if (result.status === 401) return A.signInAgain();
          if (!result.ok) throw new Error(A.problemMessage(result));
          var data = result.data || {};
          if (data.redirect_url) {
            window.location.assign(data.redirect_url);
          } else if (data.status === "paid") {
            window.location.assign("/app/subscription?payment=paid");
          } else {
            throw new Error(message("billing.pay.declined") + " " + (data.message || data.status));
          }
        })
        .catch(function (err) {
          A.setBusy(submit, false);
          showError(form, (err && err.message) || A.t("ui.js.error_generic"));
        });
    });
  }

  /** Upgrade (charged now on the saved card) or downgrade (next period); a card that needs 3-D Secure
   *  sends the browser to the issuer's page, which returns through the payment callback. */
  function changePlan(button) {
    var question = A.t("billing.plans.change_confirm");
    if (question === "billing.plans.change_confirm") question = button.getAttribute("data-confirm-text");
    A.ask(question).then(function (yes) {
      if (yes) sendPlanChange(button);
    });
  }

  function sendPlanChange(button) {
    var scope = button.closest("[data-api-scope]");
    var box = scope && scope.querySelector("[data-form-error]");
    if (box) box.hidden = true;
    A.setBusy(button, true);
    A.api("/api/subscriptions/change-plan", "POST", { plan: button.getAttribute("data-change-plan") })
      .then(function (result) {
        if (result.status === 401) return A.signInAgain();
        if (!result.ok) throw new Error(A.problemMessage(result));
        if (result.data && result.data.redirect_url) window.location.assign(result.data.redirect_url);
        else window.location.reload();
      })
      .catch(function (err) {
        A.setBusy(button, false);
        if (box) {
          box.textContent = (err && err.message) || A.t("ui.js.error_generic");
          box.hidden = false;
        }
      });
  }

  // --- the billing profile (issue 20) -------------------------------------------------------------------------
  // The whole profile is sent at once (PUT replaces it); the server checks every field and answers every problem
  // in the page's language, each naming its field. A save reloads the page, which then says it was saved (a flag in
  // sessionStorage carries that across the reload, as on the policies page).
  var PROFILE_SAVED = "atlas.billing.profile.saved";
  var PROFILE_FIELDS = [
    "legal_name_ar", "legal_name_en", "vat_number", "street", "building_number", "additional_number", "district",
    "city", "postal_code", "country", "crn",
  ];
  var ADDRESS_FIELDS = ["street", "building_number", "additional_number", "district", "city", "postal_code"];

  function storage() {
    try {
      return window.sessionStorage;
    } catch (e) {
      return null; // storage blocked: the page still reloads, without the notice
    }
  }

  function showProfileSaved() {
    var store = storage();
    var notice = document.querySelector("[data-profile-saved]");
    if (!store || !notice || store.getItem(PROFILE_SAVED) !== "1") return;
    store.removeItem(PROFILE_SAVED);
    notice.hidden = false;
  }

  /** The address is asked for once there is a VAT number (or when one is already stored). */
  function toggleAddress(form) {
    var block = form.querySelector("[data-profile-address]");
    if (!block) return;
    var filled = ADDRESS_FIELDS.some(function (name) {
      return form.elements[name] && form.elements[name].value.trim() !== "";
    });
    block.hidden = !(form.elements.vat_number.value.trim() !== "" || filled);
  }

  function markInvalid(form, names) {
    PROFILE_FIELDS.concat(["legal_name"]).forEach(function (name) {
      var input = form.elements[name];
      if (input) input.setAttribute("aria-invalid", names.indexOf(name) >= 0 ? "true" : "false");
    });
  }

  function showProblems(form, result) {
    var box = form.querySelector("[data-form-error]");
    var problems = (result.data && Array.isArray(result.data.errors) && result.data.errors) || [];
    var named = problems.filter(function (p) {
      return p && typeof p.field === "string";
    });
    markInvalid(
      form,
      named.map(function (p) {
        return p.field;
      })
    );
    if (!box) return;
    box.textContent = "";
    var messages = named
      .map(function (p) {
        return typeof p.message === "string" ? p.message : "";
      })
      .filter(Boolean);
    if (messages.length > 1) {
      var list = A.el("ul", { class: "form-error-list" }, []);
      messages.forEach(function (text) {
        list.appendChild(A.el("li", {}, [text]));
      });
      box.appendChild(list);
    } else {
      box.textContent = messages[0] || A.problemMessage(result);
    }
    box.hidden = false;
    var first = named.length && form.elements[named[0].field];
    if (first && typeof first.focus === "function") first.focus();
  }

  function initProfileForm(form) {
    form.elements.vat_number.addEventListener("input", function () {
      toggleAddress(form);
    });
    form.addEventListener("submit", function (event) {
      event.preventDefault();
      var box = form.querySelector("[data-form-error]");
      if (box) box.hidden = true;
      var body = {};
      PROFILE_FIELDS.forEach(function (name) {
        var input = form.elements[name];
        var value = input ? input.value.trim() : "";
        body[name] = value === "" ? null : value;
      });
      var button = form.querySelector('[type="submit"]');
      A.setBusy(button, true);
      A.api("/api/billing/profile", "PUT", body)
        .then(function (result) {
          if (result.status === 401) return A.signInAgain();
          if (!result.ok) {
            A.setBusy(button, false);
            showProblems(form, result);
            return;
          }
          var store = storage();
          if (store) store.setItem(PROFILE_SAVED, "1");
          window.location.reload();
        })
        .catch(function () {
          A.setBusy(button, false);
          if (box) {
            box.textContent = A.t("ui.js.error_network");
            box.hidden = false;
          }
        });
    });
    toggleAddress(form);
  }

  /** The highlighted plan card follows the payment form's chosen plan, so the two never disagree. */
  function highlightPlan(planId) {
    document.querySelectorAll('[data-testid="plan-card"]').forEach(function (card) {
      var chosen = card.getAttribute("data-plan") === planId;
      card.classList.toggle("plan-card-featured", chosen);
      card.setAttribute("data-selected", chosen ? "true" : "false");
      var button = card.querySelector("[data-subscribe-plan]");
      if (button) {
        button.classList.toggle("btn-primary", chosen);
        button.classList.toggle("btn-outline", !chosen);
      }
    });
  }

  function start() {
    document.addEventListener("change", function (event) {
      var radio = event.target.closest('[data-testid="payment-form"] input[name="plan"]');
      if (radio && radio.checked) highlightPlan(radio.value);
    });
    document.addEventListener("click", function (event) {
      var chooser = event.target.closest("[data-subscribe-plan]");
      if (chooser) {
        event.preventDefault();
        var section = document.querySelector('[data-testid="payment-section"]');
        if (!section) return;
        section.hidden = false;
        var radio = section.querySelector('input[name="plan"][value="' + chooser.getAttribute("data-subscribe-plan") + '"]');
        if (radio) radio.checked = true;
        highlightPlan(chooser.getAttribute("data-subscribe-plan"));
        section.scrollIntoView({ behavior: "smooth", block: "start" });
        var first = section.querySelector('[data-card="name"]');
        if (first) first.focus({ preventScroll: true });
      }
      if (event.target.closest("[data-print]")) window.print();
      var change = event.target.closest("[data-change-plan]");
      if (change) {
        event.preventDefault();
        changePlan(change);
      }
    });
    document.querySelectorAll('[data-testid="payment-form"]').forEach(initPaymentForm);
    document.querySelectorAll("[data-profile-form]").forEach(initProfileForm);
    showProfileSaved();
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})();
