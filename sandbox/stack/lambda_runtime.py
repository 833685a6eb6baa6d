"""Load a function's handler the way Lambda does, and give it a Lambda-like context.

Every function's module is called `app.py`; loading each under a unique module name keeps
several handlers importable side by side in one process (tests, the dev gateway, the invoker).
"""

import importlib.util
import sys
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import Any

REPO_ROOT = Path(__file__).resolve().parents[2]
LAYER_DIR = REPO_ROOT / "layers" / "shared"

Handler = Callable[[dict[str, Any], Any], Any]


@dataclass
class LambdaContext:
    """The attributes Powertools and our handlers read from the real context object."""

    function_name: str = "local"
    memory_limit_in_mb: int = 512
    timeout_seconds: int = 30
    function_version: str = "$LATEST"
    aws_request_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    log_group_name: str = "/aws/lambda/local"
    log_stream_name: str = "local"

    @property
    def invoked_function_arn(self) -> str:
        return f"arn:aws:lambda:us-east-1:123456789012:function:{self.function_name}"

    def get_remaining_time_in_millis(self) -> int:
        return self.timeout_seconds * 1000


def load_module(code_uri: str | Path, module: str = "app") -> ModuleType:
    """Import `<code_uri>/<module>.py` under a name unique to its folder (cached like any import)."""
    code_dir = (REPO_ROOT / code_uri).resolve()
    name = f"_lambda_{code_dir.name}_{module}"
    if name in sys.modules:
        return sys.modules[name]
    if str(LAYER_DIR) not in sys.path:
        sys.path.insert(0, str(LAYER_DIR))
    spec = importlib.util.spec_from_file_location(name, code_dir / f"{module}.py")
    if spec is None or spec.loader is None:
        raise ImportError(f"no module {module}.py in {code_dir}")
    loaded = importlib.util.module_from_spec(spec)
    sys.modules[name] = loaded
    try:
        spec.loader.exec_module(loaded)
    except BaseException:
        del sys.modules[name]
        raise
    return loaded


def load_handler(code_uri: str | Path, handler: str = "app.lambda_handler") -> Handler:
    module, _, attr = handler.rpartition(".")
    fn: Handler = getattr(load_module(code_uri, module), attr)
    return fn
