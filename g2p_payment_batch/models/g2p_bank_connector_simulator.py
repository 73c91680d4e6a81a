from odoo import api, models

from odoo.addons.g2p_bank_simulator.exceptions import G2PSimBankError

from .g2p_bank_connector import G2PBankConnectorError


class G2PBankConnectorSimulator(models.AbstractModel):
    """The connector to the simulated bank of this database: direct service calls
    in the caller's transaction (so a crash rolls back both sides together)."""

    _name = "g2p.bank.connector.simulator"
    _description = "Bank connector: in-database simulator"

    @api.model
    def _bank(self):
        # The simulator's services require a bank operator: a program officer is
        # not one, the connector acts as the bank's client on their behalf.
        return self.env["g2p.sim.bank"].sudo()

    @api.model
    def _call(self, method, *args):
        try:
            with self.env.cr.savepoint():
                return getattr(self._bank(), method)(*args)
        except G2PSimBankError as error:
            raise G2PBankConnectorError(error.code, error.args[0]) from error

    @api.model
    def _check_funds(self, connector, account, currency, amount):
        return self._call("check_funds", account, currency, amount)

    @api.model
    def _block_funds(self, connector, account, currency, amount, reference):
        return self._call("block_funds", account, currency, amount, reference).reference

    @api.model
    def _release_block(self, connector, reference):
        return self._call("release_block", reference).reference

    @api.model
    def _initiate_payment(self, connector, payment_dicts):
        return self._call("initiate_payment", payment_dicts).name

    @api.model
    def _request_statement(self, connector, account):
        return self._call("generate_statement", account).name

    @api.model
    def _fetch_statement(self, connector, statement_id):
        statement = self._call("get_statement", statement_id)
        if statement.state == "failed":
            raise G2PBankConnectorError(
                "STATEMENT_FAILED",
                self.env._(
                    "The bank could not write statement %(s)s: %(e)s",
                    s=statement_id,
                    e=statement.error,
                ),
            )
        return statement.mt940_text if statement.state == "done" else None

    @api.model
    def _list_statements(self, connector, account):
        statements = (
            self.env["g2p.sim.statement"]
            .sudo()
            .search(
                [
                    ("account_id.account_number", "=", account),
                    # A failed statement has nothing to read: its entries are
                    # reported in the account's next statement.
                    ("state", "!=", "failed"),
                ],
                order="id",
            )
        )
        return statements.mapped("name")
