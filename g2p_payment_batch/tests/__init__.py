from . import test_batch_flow
