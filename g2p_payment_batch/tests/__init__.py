from . import test_batch_flow
from . import test_building
from . import test_http_connector
from . import test_idempotency
from . import test_reconciliation
from . import test_tour
from . import test_http_connector_retries
from . import test_runner_concurrency
