"""The one Logger, Tracer and Metrics every function and module shares.

Service name and metrics namespace come from POWERTOOLS_SERVICE_NAME / POWERTOOLS_METRICS_NAMESPACE
(set in template.yaml Globals). The defaults below apply wherever the module is imported before
that environment exists (tests, the dev stack), so a metrics flush never fails for want of a
namespace.
"""

import os
import warnings

from aws_lambda_powertools import Logger, Metrics, Tracer

SERVICE_NAME = os.environ.get("POWERTOOLS_SERVICE_NAME", "ghl-sync")
METRICS_NAMESPACE = os.environ.get("POWERTOOLS_METRICS_NAMESPACE", "GhlSync")

# A handler that decided nothing worth counting (a 400, a duplicate) flushes no metrics; Powertools
# warns on every such flush, which buries real warnings in the logs.
warnings.filterwarnings("ignore", message="No application metrics to publish")

logger = Logger(service=SERVICE_NAME)
tracer = Tracer(service=SERVICE_NAME)
metrics = Metrics(service=SERVICE_NAME, namespace=METRICS_NAMESPACE)
