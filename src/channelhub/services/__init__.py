"""The use cases: one function each, each owning its transaction. The CLI parses and prints, the daemon
schedules, the demo and the HTTP surface call the same functions; none of them reaches below this package.

- `channels`: pull a channel (a transaction per page, under the one-puller lock), apply webhook records, send
  what is due in the outbox, reconcile listed stock, stop and resume channels (all at start, or one: the
  dashboard's Resume button);
- `orders`: ship, cancel, record a return, replay quarantined records;
- `stock`: set and adjust on-hand units at a declared location, declare the config's locations;
- `outbox`: put dead writes back in the queue;
- `webhooks`: take a webhook delivery and apply the stored ones; `subscriptions`: the channel's webhook
  subscriptions (register, list, remove);
- `views`: the read-only queries behind status, orders, quarantine and the demo's summary; `dashboard`: those
  only the dashboard's pages need (counts, filtered orders, an order's writes, stock beside what each channel
  lists, hourly series for the charts); `metrics`: the database figures /metrics serves, in one read-only
  snapshot; `health`: readiness.

Every write settles its stock effects in its own transaction (`channelhub.sync.holds.settle`): released units go
first to the orders held for them, oldest first, then the sellable quantities are published.
"""
