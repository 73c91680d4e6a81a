import logging
import re
from decimal import Decimal

from psycopg2.extras import execute_values

from odoo import _, api, fields, models
from odoo.tools import SQL

from odoo.addons.g2p_bank_simulator.mt940 import sanitize

from ..statement_balances import BalanceCheck

_logger = logging.getLogger(__name__)

#: The reversal reasons of the example-bank contract (and the simulator's currency
#: mismatch). The MT940 character set has no "_": the bank writes ACCOUNT.CLOSED.
KNOWN_REASONS = frozenset(
    {
        "ACCOUNT_CLOSED",
        "ACCOUNT_NOT_FOUND",
        "ACCOUNT_DORMANT",
        "ACCOUNT_DECEASED",
        "CURRENCY_MISMATCH",
    }
)
NOT_ALNUM = re.compile(r"[^A-Za-z0-9]+")


def canonical_reason(text):
    """A known reason as the contract spells it; any other reason as the bank
    wrote it (a failure is never lost for a reason we do not know)."""
    text = (text or "").strip()
    known = NOT_ALNUM.sub("_", text).strip("_").upper()
    return known if known in KNOWN_REASONS else text or "UNKNOWN"


def statement_accounts(account_number):
    """How a funding account can appear in `:25:`: as it is, or as a bank writing
    the SWIFT character set writes it (``PROG_FUND`` → ``PROG.FUND``)."""
    return {account_number, sanitize(account_number).strip()}


class G2PPaymentReconciler(models.AbstractModel):
    """Applies an MT940 statement to the payments, set-based.

    A ``D`` entry marks its payment paid, an ``RD`` marks it failed with the reason;
    the amount must match exactly; anything else becomes a reconciliation error.
    Entries already applied (same bank reference) are skipped, so a statement that
    repeats entries changes nothing. ``C`` and ``RC`` entries are not ours.
    """

    _name = "g2p.payment.reconciler"
    _description = "MT940 reconciliation"

    @api.model
    def _parse(self, text):
        """``(account, [entry dicts])`` from the MT940 text (mt-940 parser).

        Raises ``UnbalancedStatement`` when its balances do not add up."""
        import mt940

        # Every entry carries the account of its own message: a file may hold
        # statements of several accounts.
        Transactions = mt940.models.Transactions
        post = Transactions.DEFAULT_PROCESSORS["post_statement"]
        copy_account = mt940.processors.transactions_to_transaction(
            "account_identification"
        )
        check = BalanceCheck(self.env)
        processors = check.processors()
        processors["post_statement"] = [
            *post,
            copy_account,
            *processors["post_statement"],
        ]
        transactions = Transactions(processors)
        transactions.parse(text)
        check.finish(transactions)
        entries = []
        for sequence, transaction in enumerate(transactions, start=1):
            data = transaction.data
            details = (data.get("transaction_details") or "").split("\n")
            entries.append(
                {
                    "sequence": sequence,
                    "mark": data.get("status"),
                    # mt-940 keeps RC amounts positive: the mark carries the sign.
                    "amount": abs(data["amount"].amount),
                    "reference": data.get("customer_reference") or "",
                    "bank_reference": data.get("bank_reference") or "",
                    "value_date": data.get("date"),
                    "entry_date": data.get("entry_date") or data.get("date"),
                    "reason": canonical_reason(details[-1]),
                    "account": data.get("account_identification"),
                    "currency": data.get("currency"),
                }
            )
        account = transactions.data.get("account_identification")
        if not account:
            raise ValueError(
                self.env._(
                    "This is not an MT940 statement: it names no account (:25:)."
                )
            )
        return account, entries

    @api.model
    def _load_payments(self, references):
        self.env.flush_all()
        self.env.cr.execute(
            SQL(
                """SELECT p.id, p.name, p.batch_id, p.currency_id, p.amount::text,
                          p.state, p.bank_reference, p.reversal_reference,
                          b.funding_account_number, c.name
                     FROM g2p_payment p
                     JOIN g2p_payment_batch b ON b.id = p.batch_id
                     JOIN res_currency c ON c.id = b.currency_id
                    WHERE p.name = ANY(%s)""",
                list(references),
            )
        )
        keys = ("id", "name", "batch_id", "currency_id", "amount", "state")
        payments, accounts = {}, {}
        for row in self.env.cr.fetchall():
            payment = dict(zip(keys, row[:6], strict=True))
            payment["amount"] = Decimal(payment["amount"])
            payment["bank_reference"], payment["reversal_reference"] = row[6:8]
            funding, payment["batch_currency"] = row[8:]
            if funding not in accounts:
                accounts[funding] = statement_accounts(funding)
            payment["funding_account"] = funding
            payment["accounts"] = accounts[funding]
            payments[payment["name"]] = payment
        return payments

    @api.model
    def _reconcile(self, statement):
        """Apply ``statement``; return a summary for people."""
        try:
            account, entries = self._parse(statement.mt940_text)
        except Exception as error:  # noqa: BLE001 - any parser failure: unreadable
            _logger.info("Statement %s unreadable: %s", statement.id, error)
            statement.sudo().write({"state": "failed", "error": str(error)})
            return statement.error
        ours = [e for e in entries if e["mark"] in ("D", "RD")]
        payments = self._load_payments({e["reference"] for e in ours})
        changed, errors = {}, []
        for entry in ours:
            payment = payments.get(entry["reference"])
            error = self._apply(entry, payment)
            if error:
                errors.append(self._error_vals(statement, entry, payment, *error))
            elif error is None:
                changed[payment["id"]] = payment
                payment.update(
                    statement_id=statement.id,
                    entry_sequence=entry["sequence"],
                    value_date=entry["value_date"],
                    entry_date=entry["entry_date"],
                )
        self._write(changed.values())
        # Reconciling a statement again records its errors once, not twice.
        statement.error_ids.sudo().unlink()
        self.env["g2p.payment.reconciliation.error"].sudo().create(errors)
        batches = self.env["g2p.payment.batch"].browse(
            {p["batch_id"] for p in changed.values()}
            | {e["batch_id"] for e in errors if e["batch_id"]}
        )
        paid = sum(1 for p in changed.values() if p["state"] == "paid")
        statement.sudo().write(
            {
                "state": "reconciled",
                "error": False,
                "account_number": statement.account_number or account,
                "entry_count": len(entries),
                "paid_count": paid,
                "failed_count": len(changed) - paid,
                "error_count": len(errors),
                "batch_ids": [fields.Command.link(b.id) for b in batches],
            }
        )
        batches._settle()
        return _(
            "Statement %(s)s: %(paid)s paid, %(failed)s failed, %(errors)s errors.",
            s=statement.display_name,
            paid=paid,
            failed=len(changed) - paid,
            errors=len(errors),
        )

    @api.model
    def _apply(self, entry, payment):
        """Apply one entry to ``payment`` (a dict, updated in place).

        Returns None when applied, False when already applied before, else the
        reconciliation error as ``(reason, detail)``. An entry is evidence about a
        payment only in a statement of its batch's funding account and currency,
        and only once the payment was sent."""
        debit = entry["mark"] == "D"
        if payment is None:
            reason = "unknown_reference" if debit else "reversal_without_payment"
            return reason, None
        if entry["account"] not in payment["accounts"]:
            return "other_account", _(
                "The statement is of account %(s)s; the payment's batch pays from "
                "%(b)s.",
                s=entry["account"],
                b=payment["funding_account"],
            )
        if entry["currency"] != payment["batch_currency"]:
            return "other_currency", _(
                "The statement is in %(s)s; the payment's batch pays in %(b)s.",
                s=entry["currency"],
                b=payment["batch_currency"],
            )
        if payment["state"] not in ("sent", "paid", "failed"):
            return "not_sent", _(
                "The payment is %(state)s: it was never sent to the bank.",
                state=payment["state"],
            )
        if entry["amount"] != payment["amount"]:
            return "amount_mismatch", None
        key = "bank_reference" if debit else "reversal_reference"
        if payment[key] == entry["bank_reference"]:
            return False
        if payment[key]:
            return "duplicate", None
        payment[key] = entry["bank_reference"]
        if debit:
            payment["state"] = "failed" if payment["reversal_reference"] else "paid"
        else:
            payment["state"] = "failed"
            payment["failure_reason"] = entry["reason"]
        return None

    @api.model
    def _error_vals(self, statement, entry, payment, reason, detail):
        return {
            "statement_id": statement.id,
            "entry_sequence": entry["sequence"],
            "batch_id": payment["batch_id"] if payment else False,
            "payment_id": payment["id"] if payment else False,
            "customer_reference": entry["reference"],
            "bank_reference": entry["bank_reference"],
            "mark": entry["mark"],
            "currency_id": payment["currency_id"] if payment else False,
            "amount": entry["amount"],
            "expected_amount": payment["amount"] if payment else False,
            "reason": reason,
            "detail": detail,
        }

    @api.model
    def _write(self, payments):
        """One UPDATE … FROM (VALUES …) for every changed payment."""
        rows = [
            (
                p["id"],
                p["state"],
                p.get("failure_reason"),
                p["bank_reference"],
                p["reversal_reference"],
                p["statement_id"],
                p["entry_sequence"],
                p["value_date"],
                p["entry_date"],
                self.env.uid,
            )
            for p in payments
        ]
        if not rows:
            return
        execute_values(
            self.env.cr._obj,
            """UPDATE g2p_payment p
                  SET state = v.state,
                      failure_reason = coalesce(v.reason, p.failure_reason),
                      bank_reference = v.bank_reference,
                      reversal_reference = v.reversal_reference,
                      statement_id = v.statement_id,
                      entry_sequence = v.entry_sequence,
                      value_date = v.value_date, entry_date = v.entry_date,
                      write_uid = v.uid, write_date = now() at time zone 'UTC'
                 FROM (VALUES %s) AS v(id, state, reason, bank_reference,
                      reversal_reference, statement_id, entry_sequence, value_date,
                      entry_date, uid)
                WHERE p.id = v.id""",
            rows,
            template=(
                "(%s::int, %s, %s, %s, %s, %s::int, %s::int, %s::date, %s::date,"
                " %s::int)"
            ),
            page_size=5000,
        )
        self.env["g2p.payment"].invalidate_model()
