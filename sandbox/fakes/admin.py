"""The admin routes every fake shares, under /_sandbox:

    GET  /_sandbox/faults      the fault settings and what was injected so far
    POST /_sandbox/faults      {"rate_429": .., "rate_5xx": .., "rate_timeout": .., "rate_reset": ..,
                                "timeout_applied_share": .., "methods": ["POST"], "seed": n}
                               (400 on bad values)
    GET  /_sandbox/requests    the request log: [{"method", "path", "status"}]
    POST /_sandbox/clock       {"advance": seconds}: move a fake clock (409 on the real clock)

Each fake adds its own routes next to these (seeding, UI edits, webhook targets, delivery).
"""

from typing import TYPE_CHECKING, Any

from flask import Blueprint, jsonify, request

from sandbox.fakes.clock import FakeClock

if TYPE_CHECKING:
    from sandbox.fakes.base import FakeApp


def kit_admin_blueprint(fake: "FakeApp") -> Blueprint:
    bp = Blueprint("fake_kit_admin", __name__, url_prefix="/_sandbox")

    def body() -> dict[str, Any]:
        data = request.get_json(silent=True)
        return data if isinstance(data, dict) else {}

    @bp.get("/faults")
    def get_faults() -> Any:
        return jsonify(fake.faults.settings())

    @bp.post("/faults")
    def configure_faults() -> Any:
        data = body()
        try:
            if "seed" in data:
                fake.faults.reseed(int(data.pop("seed")))
            fake.faults.configure(**data)
        except (TypeError, ValueError) as exc:
            return jsonify({"error": str(exc)}), 400
        return jsonify(fake.faults.settings())

    @bp.get("/requests")
    def requests_log() -> Any:
        return jsonify({"requests": [entry._asdict() for entry in fake.request_log]})

    @bp.post("/clock")
    def move_clock() -> Any:
        if not isinstance(fake.clock, FakeClock):
            return jsonify({"error": "this fake runs on the real clock"}), 409
        try:
            fake.clock.advance(float(body().get("advance", 0)))
        except (TypeError, ValueError) as exc:
            return jsonify({"error": str(exc)}), 400
        return jsonify({"now": fake.clock()})

    return bp
