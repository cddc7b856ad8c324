/* Atlas — the main navigation at every width (issue 19).
 * The section tabs sit on one row when they fit; when they do not (a phone, a tablet, a laptop with an admin's
 * many tabs, longer Arabic labels), they fold behind the menu button that base.html renders hidden: it names the
 * current section, opens and closes the navigation (aria-expanded says which), and Escape or a click elsewhere
 * closes it. Whether they fit is measured, not guessed: the row is laid out, its overflow read, and the header
 * marked `data-nav-compact` when the tabs would not fit — again on every resize, once the web fonts have loaded
 * (they change the labels' widths) and after a language switch (other labels). Below 768 px the menu is always
 * used. Nothing is painted between the measurement and the decision, so the row never shows on two lines.
 * A static file because Atlas's CSP allows no inline script. Without it, the tabs stay one row that scrolls
 * inside itself (atlas.css), never the page. */
(function () {
  "use strict";

  var NARROW = 768; // below this width the menu is used whatever fits (a phone's tabs would be too cramped)

  function start() {
    var header = document.querySelector(".site-header");
    var button = document.querySelector("[data-nav-toggle]");
    var nav = document.querySelector("[data-main-nav]");
    if (!header || !button || !nav) return;
    var list = nav.querySelector("ul") || nav;

    function isOpen() {
      return button.getAttribute("aria-expanded") === "true";
    }

    function setOpen(open) {
      button.setAttribute("aria-expanded", open ? "true" : "false");
      nav.classList.toggle("is-open", open);
    }

    /** Do the tabs fit on one row? Measured in the row layout (the compact mark taken off for the reading). */
    function rowFits() {
      var compact = header.hasAttribute("data-nav-compact");
      if (compact) header.removeAttribute("data-nav-compact");
      var fits = list.scrollWidth <= list.clientWidth + 1 && nav.scrollWidth <= nav.clientWidth + 1;
      if (compact) header.setAttribute("data-nav-compact", "");
      return fits;
    }

    function layout() {
      var compact = window.innerWidth < NARROW || !rowFits();
      if (compact) header.setAttribute("data-nav-compact", "");
      else {
        header.removeAttribute("data-nav-compact");
        if (isOpen()) setOpen(false);
      }
    }

    var pending = false;
    function relayout() {
      if (pending) return;
      pending = true;
      window.requestAnimationFrame(function () {
        pending = false;
        layout();
      });
    }

    button.hidden = false;
    layout();
    header.setAttribute("data-nav-ready", "");
    window.addEventListener("resize", relayout);
    document.addEventListener("atlas:lang", relayout);
    if (document.fonts && document.fonts.ready) document.fonts.ready.then(relayout);

    button.addEventListener("click", function () {
      setOpen(!isOpen());
    });
    document.addEventListener("keydown", function (event) {
      if (event.key === "Escape" && isOpen()) {
        setOpen(false);
        button.focus();
      }
    });
    document.addEventListener("click", function (event) {
      if (!isOpen()) return;
      if (button.contains(event.target) || nav.contains(event.target)) return;
      setOpen(false);
    });
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})();
