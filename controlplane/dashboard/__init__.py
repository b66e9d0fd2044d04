"""The dashboard: a Vue single-page app served from ``static/dashboard/``, and the page that loads it."""
