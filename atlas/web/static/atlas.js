/* Atlas — the page script. Vanilla, no dependencies, no build step.
 *
 * 1. Language: switch Arabic <-> English without a reload, using the same
 *    catalogue the server renders from (/i18n/catalogue.json); the choice
 *    persists in localStorage and a cookie (the server reads the cookie).
 * 2. API forms and buttons: <form data-api-url>, <button data-api-url>,
 *    <select data-api-url data-field> send JSON with the CSRF header and show
 *    RFC 9457 problem details on failure.
 * 3. The onboarding wizard: steps, validation, then an API form submit.
 * 4. Copy-to-clipboard buttons.
 */
(function () {
  "use strict";

  var LANG_KEY = "atlas_lang";
  var LANGS = ["ar", "en"];
  var root = document.documentElement;

  // ---------------------------------------------------------------- catalogue

  var catalogue = null;
  var cataloguePromise = null;

  function loadCatalogue() {
    if (catalogue) return Promise.resolve(catalogue);
    if (!cataloguePromise) {
      cataloguePromise = fetch("/i18n/catalogue.json", {
        credentials: "same-origin",
        headers: { Accept: "application/json" },
      })
        .then(function (res) {
          if (!res.ok) throw new Error("catalogue: HTTP " + res.status);
          return res.json();
        })
        .then(function (data) {
          catalogue = data;
          return data;
        })
        .catch(function (err) {
          cataloguePromise = null; // allow a retry later
          throw err;
        });
    }
    return cataloguePromise;
  }

  function currentLang() {
    return root.getAttribute("lang") === "en" ? "en" : "ar";
  }

  function parseJSON(text, fallback) {
    if (!text) return fallback;
    try {
      return JSON.parse(text);
    } catch (e) {
      return fallback;
    }
  }

  function has(params, name) {
    return !!params && Object.prototype.hasOwnProperty.call(params, name) && params[name] != null;
  }

  // ---------------------------------------------------------------- counted phrases (CLDR plural forms)
  //
  // The catalogue's plural entries (key -> language -> CLDR category -> text, `{n}` the count) come with the
  // other texts in /i18n/catalogue.json. Intl.PluralRules is CLDR's rules, the same Babel applies on the
  // server, so "3 أيام", "يومان", "11 يوماً" come out alike whichever side renders a message. A message
  // embeds a counted phrase as `{name@plural.key}`; a plural entry looked up directly counts `n` (or `count`).

  var pluralRules = {};

  /** The CLDR plural category of `count` in `lang`; text that is not a number is "other" (as on the server). */
  function pluralCategory(count, lang) {
    var digits = typeof count === "number" ? null : String(count).replace(/[,\u066c\s]/g, "");
    var number = digits === null ? count : digits === "" ? NaN : Number(digits);
    if (!isFinite(number)) return "other";
    if (!pluralRules[lang]) pluralRules[lang] = new Intl.PluralRules(lang);
    return pluralRules[lang].select(Math.abs(number));
  }

  /** The form of plural entry `forms` (category -> text) for `count`, with `{n}` filled. */
  function countedPhrase(forms, count, lang) {
    var text = forms[pluralCategory(count, lang)];
    if (text == null) text = forms.other;
    return text == null ? String(count) : text.replace(/\{n\}/g, String(count));
  }

  function pluralForms(key, lang) {
    var entry = catalogue && catalogue[key];
    var forms = entry && (entry[lang] != null ? entry[lang] : entry.ar);
    return forms && typeof forms === "object" ? forms : null;
  }

  function format(text, params, lang) {
    if (!params) return text;
    return text.replace(/\{(\w+)(?:@(plural\.[\w.]+))?\}/g, function (whole, name, pluralKey) {
      if (!has(params, name)) return whole;
      if (!pluralKey) return String(params[name]);
      var forms = pluralForms(pluralKey, lang || currentLang());
      return forms ? countedPhrase(forms, params[name], lang || currentLang()) : String(params[name]);
    });
  }

  /** The message `key` in `lang`, or null when the catalogue does not have it. */
  function lookup(key, lang, params) {
    var entry = catalogue && catalogue[key];
    if (!entry) return null;
    var text = entry[lang] != null ? entry[lang] : entry.ar;
    if (text != null && typeof text === "object") {
      // a plural entry itself: its count is `n` (or `count`)
      var count = has(params, "n") ? params.n : has(params, "count") ? params.count : null;
      return count == null ? null : format(countedPhrase(text, count, lang), params, lang);
    }
    return text == null ? null : format(text, params, lang);
  }

  /** A message for the script itself: catalogue first, then the copy rendered in the page. */
  function msg(key, params) {
    var text = lookup(key, currentLang(), params);
    if (text != null) return text;
    var holder = document.querySelector('[data-ui-strings] [data-i18n="' + key + '"]');
    return holder ? holder.textContent.trim() : key;
  }

  // ---------------------------------------------------------------- language

  function setCookie(lang) {
    document.cookie = "atlas_lang=" + lang + "; path=/; max-age=31536000; samesite=lax";
  }

  function remember(lang) {
    try {
      localStorage.setItem(LANG_KEY, lang);
    } catch (e) {
      /* storage may be disabled; the cookie still carries the choice */
    }
    setCookie(lang);
  }

  // Bidirectional controls of a catalogue text (U+2066…U+2069 isolates, U+200E/U+200F marks) never go into the
  // page: an isolate becomes a <bdi>, as the server renders it (atlas/web/ui/bidi_markup.py); the rest is
  // dropped. Copied text and screen readers get the words alone (issue 19).
  var BIDI_ANY = /[\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]/;
  var BIDI_ALL = /[\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]/g;
  var BIDI_DIR = { "\u2066": "ltr", "\u2067": "rtl", "\u2068": "auto" };

  function plainText(text) {
    return String(text).replace(BIDI_ALL, "");
  }

  function setText(el, text) {
    el.textContent = "";
    appendText(el, text);
  }

  /** Appends `text` to `el`: plain text, with each isolate of it as a <bdi>. */
  function appendText(el, text) {
    text = String(text);
    if (!BIDI_ANY.test(text)) {
      el.appendChild(document.createTextNode(text));
      return;
    }
    var parents = [el];
    String(text).split(/([\u2066-\u2069])/).forEach(function (piece) {
      var top = parents[parents.length - 1];
      if (BIDI_DIR[piece]) {
        var bdi = document.createElement("bdi");
        bdi.setAttribute("dir", BIDI_DIR[piece]);
        top.appendChild(bdi);
        parents.push(bdi);
      } else if (piece === "\u2069") {
        if (parents.length > 1) parents.pop();
      } else if (piece) {
        top.appendChild(document.createTextNode(plainText(piece)));
      }
    });
  }

  /** Translates the text and attributes of `scope` (the page, or a copy made from a <template>). */
  function translateTree(scope, lang) {
    lang = lang || currentLang();
    // element text
    scope.querySelectorAll("[data-i18n]").forEach(function (el) {
      if (el.tagName === "TITLE") return;
      var params = parseJSON(el.getAttribute("data-i18n-params"), null);
      var text = lookup(el.getAttribute("data-i18n"), lang, params);
      if (text != null) setText(el, text);
    });
    // counted phrases (CLDR plural forms, chosen on the server): both languages' texts are on the element
    scope.querySelectorAll("[data-i18n-plural]").forEach(function (el) {
      var text = el.getAttribute("data-text-" + lang);
      if (text != null) el.textContent = text;
    });
    // attributes: data-i18n-attr="placeholder:key;aria-label:key2"
    scope.querySelectorAll("[data-i18n-attr]").forEach(function (el) {
      var params = parseJSON(el.getAttribute("data-i18n-params"), null);
      el.getAttribute("data-i18n-attr").split(";").forEach(function (pair) {
        var at = pair.indexOf(":");
        if (at < 1) return;
        var attr = pair.slice(0, at).trim();
        var text = lookup(pair.slice(at + 1).trim(), lang, params);
        if (text != null) el.setAttribute(attr, plainText(text));
      });
    });
  }

  function translatePage(lang) {
    translateTree(document, lang);
    // document title: "<page> · <brand>"
    var title = document.querySelector("title[data-i18n]");
    if (title) {
      var page = lookup(title.getAttribute("data-i18n"), lang, null);
      var suffixKey = title.getAttribute("data-i18n-suffix");
      var suffix = suffixKey ? lookup(suffixKey, lang, null) : null;
      if (page != null) document.title = plainText(suffix ? page + " · " + suffix : page);
    }
  }

  function applyLang(lang) {
    root.setAttribute("lang", lang);
    root.setAttribute("dir", lang === "ar" ? "rtl" : "ltr");
    document.querySelectorAll('[data-testid="lang-switch"]').forEach(function (btn) {
      btn.setAttribute("lang", lang === "ar" ? "en" : "ar");
    });
  }

  /** Switch the whole page to `lang` without a reload. */
  function switchLang(lang, reloadOnFailure) {
    if (LANGS.indexOf(lang) < 0) return Promise.resolve();
    remember(lang);
    return loadCatalogue()
      .then(function () {
        translatePage(lang);
        applyLang(lang);
        document.dispatchEvent(new CustomEvent("atlas:lang", { detail: { lang: lang } }));
      })
      .catch(function () {
        // Without the catalogue the page cannot re-translate itself; the
        // server renders the chosen language (from the cookie) on a reload.
        // Only when the person asked: an automatic reload could loop.
        if (reloadOnFailure !== false) window.location.reload();
      });
  }

  function initLang() {
    var stored = null;
    try {
      stored = localStorage.getItem(LANG_KEY);
    } catch (e) {
      stored = null;
    }
    if (stored && LANGS.indexOf(stored) >= 0 && stored !== currentLang()) {
      switchLang(stored, false);
    } else {
      remember(currentLang());
    }
    document.addEventListener("click", function (event) {
      var btn = event.target.closest('[data-testid="lang-switch"]');
      if (!btn) return;
      event.preventDefault();
      switchLang(currentLang() === "ar" ? "en" : "ar");
    });
  }

  // ---------------------------------------------------------------- building nodes

  /** An element with attributes (null or false: left out; true: present and empty) and children. */
  function el(tag, attrs, children) {
    var node = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (name) {
      if (attrs[name] != null && attrs[name] !== false) node.setAttribute(name, attrs[name] === true ? "" : attrs[name]);
    });
    (children || []).forEach(function (child) {
      if (child == null) return;
      if (typeof child === "string") appendText(node, child);
      else node.appendChild(child);
    });
    return node;
  }

  /** <span data-i18n="key"> that re-translates with the page. */
  /** Whether the catalogue has a message for `key`. */
  function known(key) {
    return msg(key) !== key;
  }

  // ---------------------------------------------------------------- times in the tenant's time zone
  //
  // The server prints a moment with Babel (`local_datetime`: "7 ديسمبر 2026 1:00:05 م" in the tenant's zone, both
  // languages' texts carried for the switch); a row the script redraws uses Intl.DateTimeFormat with the same CLDR
  // styles (long date, medium or short time, Latin digits as CLDR's `ar` and Babel write them) in the zone the
  // page names on <html data-time-zone>, so the two read the same.

  var DEFAULT_ZONE = "Asia/Riyadh";
  var timeFormats = {};

  function tenantZone() {
    return root.getAttribute("data-time-zone") || DEFAULT_ZONE;
  }

  function timeFormat(lang, options) {
    var key = lang + JSON.stringify(options);
    if (!timeFormats[key]) timeFormats[key] = new Intl.DateTimeFormat(lang, options);
    return timeFormats[key];
  }

  /** `date` as the server's `local_datetime` writes it in `lang` and `zone`. Babel (CLDR) puts a narrow no-break
   *  space before a Latin AM/PM, where Chromium's Intl keeps a plain space for web compatibility: use CLDR's. */
  function localStamp(date, lang, zone, seconds) {
    var base = { timeZone: zone, numberingSystem: "latn" };
    var day = timeFormat(lang, Object.assign({ dateStyle: "long" }, base)).format(date);
    var parts = timeFormat(lang, Object.assign({ timeStyle: seconds ? "medium" : "short" }, base)).formatToParts(date);
    var time = parts
      .map(function (part, i) {
        var next = parts[i + 1];
        var beforeLatinPeriod = next && next.type === "dayPeriod" && /^[AP]M$/.test(next.value);
        return part.type === "literal" && beforeLatinPeriod && /^\s+$/.test(part.value) ? "\u202f" : part.value;
      })
      .join("");
    return day + " " + time;
  }

  /** A moment (ISO text) in the tenant's time zone and the page's language, in a <time> that carries both
   *  languages' texts for the switch (as the server's `local_datetime` does); the zone's name on hover. "—" when
   *  missing, the raw text when unreadable. `seconds` defaults to true, as the pages' `m.utc` macro. */
  function timeEl(iso, seconds) {
    if (!iso) return el("span", { class: "muted" }, ["—"]);
    var date = new Date(iso);
    if (isNaN(date.getTime())) return el("span", { dir: "ltr" }, [String(iso)]);
    var withSeconds = seconds !== false;
    var zone = tenantZone();
    var texts = {};
    try {
      LANGS.forEach(function (lang) {
        texts[lang] = localStamp(date, lang, zone, withSeconds);
      });
    } catch (e) {
      zone = "UTC"; // a zone this browser does not know: say the moment in UTC rather than nothing
      LANGS.forEach(function (lang) {
        texts[lang] = localStamp(date, lang, zone, withSeconds);
      });
    }
    return el(
      "time",
      {
        class: "local-time",
        datetime: date.toISOString(),
        title: zone,
        "data-i18n-plural": "format.datetime",
        "data-text-ar": texts.ar,
        "data-text-en": texts.en,
      },
      [texts[currentLang()]]
    );
  }

  function label(key, params) {
    var span = el("span", { "data-i18n": key, "data-i18n-params": params ? JSON.stringify(params) : null });
    setText(span, msg(key, params));
    return span;
  }

  // ---------------------------------------------------------------- API calls

  function csrfToken() {
    var meta = document.querySelector('meta[name="csrf-token"]');
    return meta ? meta.getAttribute("content") || "" : "";
  }

  /** Calls the API; resolves to {ok, status, data}; rejects only on network failure. */
  function api(url, method, body) {
    var headers = {
      Accept: "application/json",
      "Accept-Language": currentLang(),
      "X-CSRF-Token": csrfToken(),
    };
    var init = { method: method, credentials: "same-origin", headers: headers };
    if (body !== undefined) {
      headers["Content-Type"] = "application/json";
      init.body = JSON.stringify(body);
    }
    return fetch(url, init).then(function (res) {
      return res.text().then(function (text) {
        return { ok: res.ok, status: res.status, data: parseJSON(text, null) };
      });
    });
  }

  function problemMessage(result) {
    var data = result && result.data;
    if (data && typeof data === "object") {
      if (typeof data.detail === "string" && data.detail) return data.detail;
      if (typeof data.title === "string" && data.title) return data.title;
    }
    return msg("ui.js.error_generic");
  }

  /** Where an element's errors go: its form's or section's [data-form-error], else the global toast. */
  function errorBox(el) {
    var scope = el.closest("form, [data-api-scope]");
    var box = scope && scope.querySelector("[data-form-error]");
    return box || document.querySelector("[data-global-error]");
  }

  var toastTimer = null;

  function showError(el, text) {
    var box = errorBox(el);
    if (!box) {
      window.alert(text);
      return;
    }
    box.textContent = text;
    box.hidden = false;
    if (box.hasAttribute("data-global-error")) {
      clearTimeout(toastTimer);
      toastTimer = setTimeout(function () {
        box.hidden = true;
      }, 6000);
    }
  }

  function clearError(el) {
    var box = errorBox(el);
    if (box) {
      box.hidden = true;
      box.textContent = "";
    }
  }

  function safePath(path) {
    // only same-site absolute paths: "/x", never "//host" or "https://..."
    return typeof path === "string" && path.charAt(0) === "/" && path.charAt(1) !== "/" && path.charAt(1) !== "\\"
      ? path
      : "/";
  }

  function signInAgain() {
    var here = window.location.pathname + window.location.search;
    window.location.assign("/signin?next=" + encodeURIComponent(here));
  }

  /** Acts on a successful call as `data-success` says: reload | redirect:/path | token | none. */
  function onSuccess(el, result) {
    var how = el.getAttribute("data-success") || "reload";
    if (how.indexOf("redirect:") === 0) {
      // signing out: the provider's sign-out page when it has one (RP-initiated logout), so the next sign-in
      // asks for the password again; it comes from Atlas's own answer, never from the page
      var providerLogout = result && result.data && result.data.logout_url;
      if (el.getAttribute("data-api-url") === "/api/logout" && typeof providerLogout === "string" && /^https?:\/\//.test(providerLogout)) {
        window.location.assign(providerLogout);
        return;
      }
      window.location.assign(safePath(how.slice("redirect:".length)));
    } else if (how === "token") {
      var scope = el.closest("form") || el;
      var out = scope.querySelector('[data-testid="new-token"]');
      var token = result.data && result.data.token;
      if (out && token) {
        out.textContent = token;
        out.hidden = false;
        var reveal = out.closest("[data-token-reveal]");
        if (reveal) reveal.hidden = false;
        if (scope.tagName === "FORM") {
          scope.querySelectorAll("input[type=text], input[type=email], input:not([type])").forEach(function (i) {
            i.value = "";
          });
        }
        (reveal || out).scrollIntoView({ block: "nearest", behavior: "smooth" });
      }
    } else if (how !== "none") {
      window.location.reload();
    }
  }

  function setBusy(el, busy) {
    if (!el) return;
    el.classList.toggle("is-busy", busy);
    el.setAttribute("aria-busy", busy ? "true" : "false");
    if ("disabled" in el) el.disabled = busy;
  }

  /** Runs one API call for `el` (form, button or select) and handles the outcome. */
  function run(el, busyEl, url, method, body, onFail) {
    clearError(el);
    setBusy(busyEl, true);
    return api(url, method, body)
      .then(function (result) {
        if (result.ok) {
          onSuccess(el, result);
          // a reload or redirect replaces the page; keep the control busy until then
          var how = el.getAttribute("data-success") || "reload";
          if (how === "token" || how === "none") setBusy(busyEl, false);
          return;
        }
        setBusy(busyEl, false);
        if (result.status === 401) {
          var success = el.getAttribute("data-success") || "";
          // signing out of an already-ended session is still signing out
          if (success.indexOf("redirect:") === 0 && el.getAttribute("data-api-url") === "/api/logout") {
            onSuccess(el, result);
          } else {
            signInAgain();
          }
          return;
        }
        if (onFail) onFail();
        showError(el, problemMessage(result));
      })
      .catch(function () {
        setBusy(busyEl, false);
        if (onFail) onFail();
        showError(el, msg("ui.js.error_network"));
      });
  }

  /** The form's fields as JSON: checked radios only, data-type="int" as numbers, disabled fields skipped. */
  function serialise(form) {
    var data = {};
    Array.prototype.forEach.call(form.elements, function (field) {
      if (!field.name || field.disabled) return;
      var type = (field.type || "").toLowerCase();
      if (type === "submit" || type === "button" || type === "reset" || type === "file") return;
      if (type === "radio" && !field.checked) return;
      var value;
      if (type === "checkbox") {
        value = field.checked;
      } else {
        value = field.value;
        if (type === "text" || type === "email" || type === "search" || field.tagName === "TEXTAREA") value = value.trim();
        if (field.getAttribute("data-type") === "int") {
          value = value === "" ? null : parseInt(value, 10);
        }
      }
      data[field.name] = value;
    });
    return data;
  }

  /** Asks the question `data-confirm` names (a catalogue key), in the current language;
   *  `data-confirm-text` (rendered by the server) stands in if the catalogue cannot load. */
  function confirmed(el) {
    var key = el.getAttribute("data-confirm");
    if (!key) return Promise.resolve(true);
    var params = parseJSON(el.getAttribute("data-confirm-params"), null);
    return loadCatalogue()
      .catch(function () {
        return null;
      })
      .then(function () {
        var text = lookup(key, currentLang(), params);
        if (text == null) text = el.getAttribute("data-confirm-text") || key;
        return ask(text);
      });
  }

  /** Asks `text` in the page's styled dialog (the one the mapping editor uses), never the browser's confirm():
   *  resolves true when the person confirms; false when they cancel, press Escape or close it. The dialog is
   *  modal, labelled by its question, and takes the page's language and direction. */
  function ask(text) {
    return loadCatalogue()
      .catch(function () {
        return null;
      })
      .then(function () {
        return new Promise(function (resolve) {
          var id = "confirm-dialog-text-" + Date.now();
          var cancel = el("button", { type: "button", class: "btn btn-ghost", "data-testid": "confirm-cancel" }, [
            msg("ui.dialog.cancel"),
          ]);
          var ok = el("button", { type: "submit", class: "btn btn-primary", "data-testid": "confirm-ok" }, [
            msg("ui.dialog.confirm"),
          ]);
          var form = el("form", { method: "dialog" }, [
            el("h2", { class: "card-title" }, [msg("ui.dialog.title")]),
            el("p", { id: id }, [text]),
            el("div", { class: "form-actions form-actions-end" }, [cancel, ok]),
          ]);
          var dialog = el("dialog", { class: "note-dialog", "data-testid": "confirm-dialog", "aria-describedby": id }, [
            form,
          ]);
          if (typeof dialog.showModal !== "function") {
            resolve(window.confirm(text)); // a browser without <dialog>: the plain question rather than none
            return;
          }
          form.addEventListener("submit", function () {
            dialog.returnValue = "yes";
          });
          cancel.addEventListener("click", function () {
            dialog.close("no");
          });
          dialog.addEventListener("close", function () {
            var yes = dialog.returnValue === "yes";
            dialog.remove();
            resolve(yes);
          });
          document.body.appendChild(dialog);
          dialog.showModal();
          ok.focus();
        });
      });
  }

  function initApi() {
    document.addEventListener("submit", function (event) {
      var form = event.target;
      if (!(form instanceof HTMLFormElement) || !form.hasAttribute("data-api-url")) return;
      event.preventDefault();
      // Field rules are the server's: its problem details come back translated.
      if (form.hasAttribute("data-wizard") && !wizardReadyToSubmit(form)) return;
      var submitter = event.submitter || form.querySelector('[type="submit"]') || form;
      confirmed(form).then(function (ok) {
        if (!ok) return;
        run(
          form,
          submitter,
          form.getAttribute("data-api-url"),
          (form.getAttribute("data-api-method") || "POST").toUpperCase(),
          serialise(form)
        );
      });
    });

    document.addEventListener("click", function (event) {
      var btn = event.target.closest("button[data-api-url], a[data-api-url]");
      if (!btn) return;
      event.preventDefault();
      if (btn.classList.contains("is-busy")) return;
      confirmed(btn).then(function (ok) {
        if (!ok) return;
        var body = btn.hasAttribute("data-body") ? parseJSON(btn.getAttribute("data-body"), undefined) : undefined;
        run(btn, btn, btn.getAttribute("data-api-url"), (btn.getAttribute("data-api-method") || "POST").toUpperCase(), body);
      });
    });

    // role pickers and other single-field selects
    document.querySelectorAll("select[data-api-url][data-field]").forEach(function (select) {
      select.setAttribute("data-current", select.value);
    });
    document.addEventListener("change", function (event) {
      var select = event.target;
      if (!(select instanceof HTMLSelectElement) || !select.hasAttribute("data-api-url") || !select.hasAttribute("data-field")) return;
      var previous = select.getAttribute("data-current");
      var revert = function () {
        if (previous !== null) select.value = previous;
      };
      confirmed(select).then(function (ok) {
        if (!ok) {
          revert();
          return;
        }
        var body = {};
        body[select.getAttribute("data-field")] = select.getAttribute("data-type") === "int" ? parseInt(select.value, 10) : select.value;
        run(select, select, select.getAttribute("data-api-url"), (select.getAttribute("data-api-method") || "PATCH").toUpperCase(), body, revert).then(
          function () {
            if (!select.classList.contains("is-busy")) select.setAttribute("data-current", select.value);
          }
        );
      });
    });
  }

  // ---------------------------------------------------------------- wizard

  function wizardSteps(form) {
    return Array.prototype.slice.call(form.querySelectorAll("[data-step]"));
  }

  function wizardIndex(form) {
    var steps = wizardSteps(form);
    for (var i = 0; i < steps.length; i++) if (!steps[i].hidden) return i;
    return 0;
  }

  /** Validates one step; shows its error and focuses the first bad field. */
  function validateStep(step) {
    var error = step.querySelector("[data-step-error]");
    var ok = true;
    var focus = null;
    var name = step.querySelector('input[name="company_name"]');
    if (name) {
      var len = name.value.trim().length;
      var good = len >= 2 && len <= 200;
      name.setAttribute("aria-invalid", good ? "false" : "true");
      if (!good) {
        ok = false;
        focus = name;
      }
    }
    var radios = step.querySelectorAll('input[type="radio"]:not(:disabled)');
    if (radios.length) {
      var checked = step.querySelector('input[type="radio"]:checked:not(:disabled)');
      if (!checked) {
        ok = false;
        focus = focus || radios[0];
      }
    }
    if (error) error.hidden = ok;
    if (!ok && focus) focus.focus();
    return ok;
  }

  function showStep(form, index, noFocus) {
    var steps = wizardSteps(form);
    index = Math.max(0, Math.min(index, steps.length - 1));
    steps.forEach(function (step, i) {
      step.hidden = i !== index;
    });
    form.querySelectorAll("[data-step-indicator]").forEach(function (item, i) {
      item.classList.toggle("is-current", i === index);
      item.classList.toggle("is-done", i < index);
      if (i === index) item.setAttribute("aria-current", "step");
      else item.removeAttribute("aria-current");
    });
    var last = index === steps.length - 1;
    var back = form.querySelector('[data-testid="wizard-back"]');
    var next = form.querySelector('[data-testid="wizard-next"]');
    var submit = form.querySelector('[data-testid="wizard-submit"]');
    if (back) back.hidden = index === 0;
    if (next) next.hidden = last;
    if (submit) submit.hidden = !last;
    var box = form.querySelector("[data-form-error]");
    if (box) box.hidden = true;
    var target = steps[index].querySelector("input:not(:disabled)");
    if (target && target.type === "radio") target = steps[index].querySelector("input:checked:not(:disabled)") || target;
    if (target && !noFocus) target.focus({ preventScroll: true });
  }

  function wizardNext(form) {
    var steps = wizardSteps(form);
    var index = wizardIndex(form);
    if (!validateStep(steps[index])) return;
    showStep(form, index + 1);
  }

  /** On submit: move on if not at the last step; otherwise check every step. */
  function wizardReadyToSubmit(form) {
    var steps = wizardSteps(form);
    var index = wizardIndex(form);
    if (index < steps.length - 1) {
      wizardNext(form);
      return false;
    }
    for (var i = 0; i < steps.length; i++) {
      var step = steps[i];
      var wasHidden = step.hidden;
      step.hidden = false;
      var ok = validateStep(step);
      step.hidden = wasHidden;
      if (!ok) {
        showStep(form, i);
        validateStep(step);
        return false;
      }
    }
    return true;
  }

  function initWizard() {
    document.querySelectorAll("form[data-wizard]").forEach(function (form) {
      showStep(form, 0, true);
      form.addEventListener("click", function (event) {
        if (event.target.closest('[data-testid="wizard-next"]')) {
          event.preventDefault();
          wizardNext(form);
        } else if (event.target.closest('[data-testid="wizard-back"]')) {
          event.preventDefault();
          showStep(form, wizardIndex(form) - 1);
        }
      });
      // clear a step's error as soon as it is fixed
      form.addEventListener("input", function (event) {
        var step = event.target.closest("[data-step]");
        var error = step && step.querySelector("[data-step-error]");
        if (error && !error.hidden) {
          var name = step.querySelector('input[name="company_name"]');
          var len = name ? name.value.trim().length : 2;
          var radiosOk = !step.querySelector('input[type="radio"]:not(:disabled)') || step.querySelector('input[type="radio"]:checked');
          if (len >= 2 && len <= 200 && radiosOk) {
            error.hidden = true;
            if (name) name.setAttribute("aria-invalid", "false");
          }
        }
      });
      form.addEventListener("change", function (event) {
        if (event.target.type === "radio") {
          var step = event.target.closest("[data-step]");
          var error = step && step.querySelector("[data-step-error]");
          if (error) error.hidden = true;
        }
      });
    });
  }

  // ---------------------------------------------------------------- copy buttons

  function copyText(text) {
    if (navigator.clipboard && window.isSecureContext) return navigator.clipboard.writeText(text);
    return new Promise(function (resolve, reject) {
      var area = document.createElement("textarea");
      area.value = text;
      area.setAttribute("readonly", "");
      area.style.position = "fixed";
      area.style.opacity = "0";
      document.body.appendChild(area);
      area.select();
      var ok = false;
      try {
        ok = document.execCommand("copy");
      } catch (e) {
        ok = false;
      }
      document.body.removeChild(area);
      if (ok) resolve();
      else reject(new Error("copy failed"));
    });
  }

  function initCopy() {
    document.addEventListener("click", function (event) {
      var btn = event.target.closest("[data-copy-target]");
      if (!btn) return;
      event.preventDefault();
      var scope = btn.closest("form, [data-token-reveal], section") || document;
      var source = scope.querySelector(btn.getAttribute("data-copy-target")) || document.querySelector(btn.getAttribute("data-copy-target"));
      if (!source) return;
      var label = btn.querySelector("[data-i18n]");
      var original = label ? label.textContent : null;
      copyText(source.textContent.trim()).then(
        function () {
          if (label) {
            label.textContent = msg("ui.js.copied");
            setTimeout(function () {
              label.textContent = original;
            }, 2000);
          }
        },
        function () {
          var range = document.createRange();
          range.selectNodeContents(source);
          var sel = window.getSelection();
          sel.removeAllRanges();
          sel.addRange(range);
          showError(btn, msg("ui.js.copy_failed"));
        }
      );
    });
  }

  // ---------------------------------------------------------------- start

  function start() {
    document.querySelectorAll("[data-origin]").forEach(function (el) {
      el.textContent = window.location.origin;
    });
    initLang();
    initApi();
    initWizard();
    initCopy();
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();

  // shared with the page scripts (connectors.js, mappings.js, data.js), and for tests and the console
  window.Atlas = {
    switchLang: switchLang,
    loadCatalogue: loadCatalogue,
    t: msg,
    known: known,
    pluralCategory: pluralCategory,
    timeEl: timeEl,
    currentLang: currentLang,
    parseJSON: parseJSON,
    el: el,
    setText: setText,
    label: label,
    translateTree: translateTree,
    api: api,
    problemMessage: problemMessage,
    signInAgain: signInAgain,
    setBusy: setBusy,
    ask: ask,
  };
})();
