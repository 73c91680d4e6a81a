from odoo.tools import SQL

#: Indexes that duplicated a UNIQUE constraint's index (Odoo keeps an index it no
#: longer expects): each insert maintained both.
DUPLICATE_INDEXES = {
    "g2p_sim_account": "account_number",
    "g2p_sim_fund_block": "reference",
    "g2p_sim_payment_batch": "name",
    "g2p_sim_payment": "payment_reference_number",
    "g2p_sim_statement": "name",
}


def migrate(cr, version):
    for table, column in DUPLICATE_INDEXES.items():
        cr.execute(
            SQL("DROP INDEX IF EXISTS %s", SQL.identifier(f"{table}__{column}_index"))
        )
    # A payment's currency is its batch's (a related field now).
    cr.execute(SQL("ALTER TABLE g2p_sim_payment DROP COLUMN IF EXISTS currency_id"))
