"""The web layer's lower half (layer 2): what every component's pages and controllers share.

- ``layout``: the page shell's context (language, the signed-in person, the tenant's name, the trial and billing
  notices) and ``page``, which renders a template with it;
- ``formatting``: the pager and the number, money and JSON formatting the data pages show;
- ``isolation``: ``<bdi>`` isolation of the names, codes and figures a catalogue sentence embeds (issue 19);
- ``bidi_markup``: no bidirectional control character in a page: the catalogue's isolates rendered as ``<bdi>``
  mark-up (the Jinja template class the app uses), dropped where mark-up cannot go (issue 19);
- ``guards``: the one guard on every route (authentication, CSRF, the permission matrix);
- ``dependencies``: the request's tenant transaction, principal, correlation id, settings and database.

It stands on the base and the platform only (config, errors, i18n, db, platform; and ``atlas.web.params``), so a
component's pages import it downwards. The app factory (``atlas.web.app``) and the pages that assemble several
components (``atlas.web.pages``, ``atlas.web.connector_pages``) stay in ``atlas.web``, on top; nothing imports them.
It re-exports nothing: import each name from its module.
"""
