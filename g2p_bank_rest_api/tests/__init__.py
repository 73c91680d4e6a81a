from . import test_bank_api
from . import test_bank_api_http
from . import test_registry_api
from . import test_registry_bulk
from . import test_registry_mapper
from . import test_registry_api_http
from . import test_registry_schemas
from . import test_registry_concurrency
