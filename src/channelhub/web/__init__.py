"""The hub's HTTP face: `app` (the Starlette app: webhook receivers, /healthz, /readyz), `applier` (applies stored
webhook deliveries in the background), `auth` (the bearer token of the pages and API to come), `metrics` (the
Prometheus exposition behind /metrics) and `server`
(uvicorn in a thread, for `channelhub run` and `channelhub serve`). It calls `channelhub.services` and nothing
above them; only the CLI and the daemon import it."""
