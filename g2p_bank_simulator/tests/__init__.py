from . import test_mt940_writer
from . import test_mt940_parsers
