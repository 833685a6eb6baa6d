"""The generic fake's HTTP app: one pipeline for both styles, the style's routes behind it.

Pipeline for the API (under the style's `api_path`, in this order): an injected fault (the kit's
middleware: a 429/5xx in the style's error shape, or garbage), the style's auth (401), the rate
limit when one is set (429 + `Retry-After`), then the route. Every answer carries the style's
rate-limit headers (style B's `X-RateLimit-*`). Errors, including Flask's own 404/405, are
rendered in the style's shape. The admin API is under /_sandbox (sandbox.apps.generic.admin).
"""

from typing import TYPE_CHECKING

from flask import Flask, Response, g, request
from werkzeug.exceptions import HTTPException

from sandbox.apps.generic.admin import admin_blueprint
from sandbox.apps.generic.store import ApiError

if TYPE_CHECKING:
    from sandbox.apps.generic.sandbox import GenericSandbox


def build_app(sb: "GenericSandbox") -> Flask:
    style = sb.style
    app = Flask(f"sandbox.apps.generic.style_{style.name}")
    prefix = style.api_path + "/"

    @app.before_request
    def gate() -> Response | None:
        if not request.path.startswith(prefix):
            return None
        if not style.authorised(sb, request):
            return style.error(ApiError(401, "unauthorized", "missing or unknown credentials"))
        verdict = g.verdict = sb.limiter.consume()
        if verdict is not None and not verdict.allowed:
            headers = {"Retry-After": str(verdict.retry_after_s), **limit_headers()}
            return style.error(ApiError(429, "rate_limited", "too many requests"), headers)
        return None

    def limit_headers() -> dict[str, str]:
        return style.limit_headers(g.get("verdict"), sb.limiter.resets_at())

    @app.after_request
    def rate_headers(response: Response) -> Response:
        if request.path.startswith(prefix):
            response.headers.update(limit_headers())
        return response

    @app.errorhandler(ApiError)
    def api_error(error: ApiError) -> Response:
        return style.error(error)

    @app.errorhandler(HTTPException)
    def http_error(error: HTTPException) -> Response:
        code = {404: "not_found", 405: "method_not_allowed"}.get(error.code or 500, "error")
        return style.error(ApiError(error.code or 500, code, error.description or ""))

    style.add_routes(app, sb)
    app.register_blueprint(admin_blueprint(sb))
    sb.mount(app, fault_response=style.fault_response, logged=lambda path: path.startswith(prefix))
    return app
