"""A faithful fake of the GoHighLevel API v2 (Version 2021-07-28), for tests and local runs.

In-process:  sb = GhlSandbox(clock=fake_clock); sb.add_location("loc", token="pit-...")
             httpx.Client(base_url="https://ghl.sandbox", transport=sb.transport())
As a server: python -m sandbox.ghl --port 8081 --location-id LOC --token TOKEN

It reproduces GHL's auth and version errors, per-(app, location) rate limits and headers,
contacts/tags/tasks/notes/appointments with GHL's status codes and bodies, the duplicate rule,
NestJS-style 422s, listing/search cursors, the OAuth token endpoint with rotating refresh
tokens, signed webhooks delivered with GHL's retry-on-429-only rule, and seeded fault injection.
What GHL leaves undocumented is a constructor switch (README, "The fakes": the switch table).
"""

from sandbox.fakes.clock import FakeClock
from sandbox.fakes.faults import Fault, FaultInjector, FaultKind
from sandbox.ghl.sandbox import GhlSandbox
from sandbox.ghl.webhooks import Delivery

__all__ = ["Delivery", "FakeClock", "Fault", "FaultInjector", "FaultKind", "GhlSandbox"]
