from . import test_mt940_writer
from . import test_mt940_parsers
from . import test_funds
from . import test_initiate
from . import test_process
from . import test_statement
from . import test_concurrency
from . import test_security
