"""The dashboard: server-rendered HTML pages under /dashboard/ on the API's own services."""
