import gc
import weakref

from odoo.tests import TransactionCase


class Cycle:
    def __init__(self):
        self.me = self


class TestFrozenHeap(TransactionCase):
    def test_loaded_registry_is_out_of_the_collector_s_way(self):
        """What the registry loaded is in the collector's permanent generation (a full
        collection does not walk it); what is created afterwards is collected."""
        self.assertGreater(gc.get_freeze_count(), 100_000)
        model_class = type(self.env["res.partner"])
        self.assertFalse(any(obj is model_class for obj in gc.get_objects()))

        garbage = Cycle()
        alive = weakref.ref(garbage)
        del garbage
        gc.collect()
        self.assertIsNone(alive())
