"""The sync engine: pull (inbox, map, apply, cursors), outbox (enqueue, claim, dispatch, retry), reconcile."""
