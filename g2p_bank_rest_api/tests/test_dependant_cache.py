from fastapi.dependencies import utils

from odoo.tests import TransactionCase

from ..dependencies import bank_api_env


class TestDependantCache(TransactionCase):
    def test_solving_reuses_the_analysis_of_a_dependency(self):
        """FastAPI's solver finds the caching get_dependant: the same arguments give
        the same analysed dependency, other arguments another one."""
        first = utils.get_dependant(path="/check_funds", call=bank_api_env, name="env")
        again = utils.get_dependant(path="/check_funds", call=bank_api_env, name="env")
        other = utils.get_dependant(path="/block_funds", call=bank_api_env, name="env")
        self.assertIs(first, again)
        self.assertIsNot(first, other)
        self.assertEqual(first.call, bank_api_env)
        self.assertEqual(
            [sub.call.__name__ for sub in first.dependencies], ["g2p_authenticated_env"]
        )
