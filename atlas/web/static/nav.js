/* Atlas — the main navigation on a narrow screen (issue 19).
 * Below 768 px the section tabs fold behind the menu button that base.html renders hidden; this script shows the
 * button, opens and closes the navigation with it (aria-expanded says which), and closes it on Escape or a click
 * elsewhere. It is a static file because Atlas's CSP allows no inline script. Without it, the tabs stay one
 * scrolling row, as before. On any width the active tab is scrolled into view, so it is never off to the side. */
(function () {
  "use strict";

  function start() {
    var header = document.querySelector(".site-header");
    var button = document.querySelector("[data-nav-toggle]");
    var nav = document.querySelector("[data-main-nav]");
    if (!header || !button || !nav) return;

    function setOpen(open) {
      button.setAttribute("aria-expanded", open ? "true" : "false");
      nav.classList.toggle("is-open", open);
    }

    button.hidden = false;
    header.setAttribute("data-nav-ready", "");
    button.addEventListener("click", function () {
      setOpen(button.getAttribute("aria-expanded") !== "true");
    });
    document.addEventListener("keydown", function (event) {
      if (event.key === "Escape" && button.getAttribute("aria-expanded") === "true") {
        setOpen(false);
        button.focus();
      }
    });
    document.addEventListener("click", function (event) {
      if (button.getAttribute("aria-expanded") !== "true") return;
      if (button.contains(event.target) || nav.contains(event.target)) return;
      setOpen(false);
    });

    // A row that scrolls sideways (no script in CSS's narrow layout, or a long list): bring the active tab in.
    var active = nav.querySelector(".nav-link.is-active");
    if (active && nav.scrollWidth > nav.clientWidth) {
      active.scrollIntoView({ block: "nearest", inline: "nearest" });
    }
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})();
