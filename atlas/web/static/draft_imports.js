/* Atlas — the drafts page's exports in each system's own import form (issue 15).
 * Reads GET /api/drafts/imports/formats and shows, per connector laid down from a preset, one download per import
 * format of its system ("Export for InvenTree: purchase-order lines (CSV)"). Every text is a catalogue key, so
 * the buttons re-translate with the page; names and codes sit in their own <bdi> so they read whole in Arabic.
 * A connector set up by hand has no preset, so no format: the section stays hidden. Atlas sends nothing: each
 * button only downloads a file for a person (and the server audits the export). */
(function () {
  "use strict";

  /** <span data-i18n="key"> (re-translated with the page); the server's own words while the catalogue is not
   * there (it is loaded before rendering, but a failed load must not show keys). */
  function text(key, params, fallback) {
    var A = window.Atlas;
    var span = A.label(key, params);
    if (!A.known(key)) span.textContent = fallback;
    return span;
  }

  function button(connector, format) {
    var A = window.Atlas;
    var link = A.el("a", {
      class: "btn btn-outline btn-sm",
      href: format.href,
      download: true,
      "data-testid": "draft-import",
      "data-connector": connector.connector_id,
      "data-import": format.id,
      "data-format": format.format,
      "data-drafts": String(format.drafts),
    });
    link.appendChild(text("draft_imports.export_for", { system: connector.system }, connector.system + ":"));
    link.appendChild(document.createTextNode(" "));
    link.appendChild(text(format.label_key, null, format.label));
    // One element, so the button's gap does not split "(CSV)".
    var kind = A.el("span", { class: "draft-import-format" }, ["("]);
    kind.appendChild(text("draft_imports.format." + format.format, null, format.format.toUpperCase()));
    kind.appendChild(document.createTextNode(")"));
    link.appendChild(kind);
    link.appendChild(A.el("span", { class: "badge badge-info", dir: "ltr", "data-testid": "draft-import-count" }, [
      String(format.drafts),
    ]));
    var item = A.el("li", { class: "draft-import" }, [link]);
    if (format.help_key) {
      var help = A.el("p", { class: "cell-sub" });
      help.appendChild(text(format.help_key, null, format.help || ""));
      help.appendChild(document.createTextNode(" "));
      var docs = A.el("a", { href: format.docs_url, target: "_blank", rel: "noopener noreferrer", class: "link-arrow" });
      docs.appendChild(text("draft_imports.docs", null, format.docs_url));
      help.appendChild(docs);
      item.appendChild(help);
    }
    return item;
  }

  function render(section, connectors) {
    var A = window.Atlas;
    var list = section.querySelector("[data-draft-imports-list]");
    list.textContent = "";
    connectors.forEach(function (connector) {
      if (!connector.imports || !connector.imports.length) return;
      var heading = A.el("h3", { class: "cell-sub", "data-testid": "draft-import-connector" });
      heading.appendChild(text("draft_imports.connector", null, ""));
      heading.appendChild(document.createTextNode(": "));
      heading.appendChild(A.el("bdi", {}, [connector.connector_name]));
      if (connector.connector_name !== connector.system) {
        heading.appendChild(document.createTextNode(" · "));
        heading.appendChild(A.el("bdi", { dir: "ltr" }, [connector.system]));
      }
      var items = A.el("ul", { class: "transform-list draft-import-list", role: "list" });
      connector.imports.forEach(function (format) {
        items.appendChild(button(connector, format));
      });
      list.appendChild(A.el("div", { class: "draft-import-group", "data-connector": connector.connector_id }, [heading, items]));
    });
    section.hidden = !list.children.length;
  }

  function start() {
    var section = document.querySelector("[data-draft-imports]");
    if (!section || !window.Atlas) return;
    var A = window.Atlas;
    var catalogue = A.loadCatalogue().catch(function () {});
    Promise.all([A.api("/api/drafts/imports/formats", "GET"), catalogue]).then(
      function (done) {
        var result = done[0];
        if (result.ok && result.data && Array.isArray(result.data.connectors)) {
          render(section, result.data.connectors);
        }
        section.setAttribute("data-loaded", result.ok ? "ok" : "failed");
      },
      function () {
        section.setAttribute("data-loaded", "failed");
      }
    );
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})();
