from . import test_bank_api
from . import test_bank_api_http
