"""The hub's HTTP face: `app` (the Starlette app: webhook receivers, /healthz, /readyz, /metrics, the dashboard),
`applier` (applies stored webhook deliveries in the background), `auth` (the bearer token of the pages and API),
`metrics` (the Prometheus exposition behind /metrics), `server` (uvicorn in a thread, for `channelhub run` and
`channelhub serve`), and the operator dashboard: `dashboard` (its routes, templates and guards), `session` (login
cookie, CSRF, flash messages), `pages` (GET), `actions` (POST) and `charts` (inline SVG). It calls
`channelhub.services` and nothing above them; only the CLI and the daemon import it."""
