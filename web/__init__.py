"""The web pages: server-rendered templates with a little htmx, for people (the API is
for systems). Views parse a form, call the same services and selectors as the API and
render; no programme rule lives here."""
