"""The fake-app kit: what every app fake (GHL's and each app's) is built on.

- base.FakeApp: the fake's clock and sleep, its one lock, seeded faults, request log, in-process
  transport (`transport()`), webhook outbox and the shared admin routes; `mount()` wraps a Flask app;
- middleware.FakeMiddleware: faults applied around every API request, the lock, the request log;
- faults: seeded 429 / 5xx / timeout-after-applied / connection reset, in-process and in server mode;
- ratelimit: sliding and fixed windows (a minute, a UTC day) per key, checked together;
- clock: the real clock or a FakeClock tests move by hand;
- server: serve a fake (or any WSGI app) on 127.0.0.1 in a thread, with webhook delivery;
- admin: /_sandbox/faults, /_sandbox/requests, /_sandbox/clock;
- webhooks: the Outbox (queued deliveries with the app's RetryRule), unsigned / shared-token / HMAC.
"""
