from psycopg2.extras import execute_values

from odoo import _, api, models
from odoo.exceptions import UserError
from odoo.tools import SQL

from odoo.addons.g2p_bank_simulator.exceptions import G2PSimBankError


class G2PPaymentBatchBuilder(models.AbstractModel):
    """Fills a draft batch: payments for registrants (those who cannot be paid
    become exclusions with the reason), and the account snapshot at confirmation."""

    _name = "g2p.payment.batch.builder"
    _description = "Payment batch builder"

    @api.model
    def _add_payments(self, batch, registrant_amounts):
        """Add payments for ``[(registrant, amount)]`` to ``batch``.
        Returns (payments, exclusions)."""
        batch._check_draft(_("add payments"))
        partners = self.env["res.partner"].browse(
            [partner.id for partner, _amount in registrant_amounts]
        )
        accounts = partners.with_context(active_test=False)._g2p_payment_accounts()
        known = set(batch.payment_ids.registrant_id.ids)
        payments, exclusions = [], []
        for partner, amount in registrant_amounts:
            reason = self._exclusion_reason(batch, partner, accounts[partner.id], known)
            if reason:
                exclusions.append(self._exclusion_vals(batch, partner, reason))
                continue
            known.add(partner.id)
            payments.append(
                {"batch_id": batch.id, "registrant_id": partner.id, "amount": amount}
            )
        created = self.env["g2p.payment"].create(payments)
        excluded = self._create_exclusions(exclusions)
        return created, excluded

    @api.model
    def _amount_error(self, amount, currency):
        """Why the Decimal ``amount`` cannot be paid in ``currency``, or False: the
        bank's own rules (positive, the currency's decimals, what its MT940
        statements can write), so that what a batch accepts the bank accepts."""
        try:
            self.env["g2p.sim.bank"]._to_amount(amount, currency)
        except G2PSimBankError as error:
            return error.args[0]
        return False

    @api.model
    def _exclusion_vals(self, batch, partner, reason):
        return {
            "batch_id": batch.id,
            "registrant_id": partner.id,
            "functional_id": partner.g2p_functional_id,
            "reason": reason[0],
            "detail": reason[1],
        }

    @api.model
    def _create_exclusions(self, vals_list):
        """Exclusions are the builder's record of who was not paid and why:
        read-only for officers (sudo here), so that none is removed or changed."""
        return self.env["g2p.payment.exclusion"].sudo().create(vals_list).sudo(False)

    @api.model
    def _exclusion_reason(self, batch, partner, account, known):
        """``(reason, detail)`` when ``partner`` cannot be paid, else None."""
        if not partner.is_registrant:
            return "not_registrant", _("%(n)s is not a registrant.", n=partner.name)
        if not partner.active:
            return "inactive", _("%(n)s is archived.", n=partner.name)
        if partner.id in known:
            return "duplicate", _("%(n)s is already in the batch.", n=partner.name)
        if not account:
            return "no_account", _(
                "%(n)s (or the head of the group) has no open primary account.",
                n=partner.name,
            )
        if account.currency_id and account.currency_id != batch.currency_id:
            return "currency", _(
                "The account %(a)s is in %(c)s.",
                a=account.acc_number,
                c=account.currency_id.name,
            )
        return None

    @api.model
    def _snapshot_accounts(self, batch):
        """Resolve each payee's current primary account and copy its details onto
        the payment; payments without a usable account become exclusions.
        Returns the number excluded."""
        payments = batch.payment_ids
        registrants = payments.registrant_id
        accounts = registrants._g2p_payment_accounts()
        payees = dict(zip(registrants.ids, registrants._g2p_payee().ids, strict=True))
        rows, unusable, exclusions, known = [], self.env["g2p.payment"], [], set()
        for payment in payments:
            registrant = payment.registrant_id
            account = accounts[registrant.id]
            # A registrant twice in the batch (added before duplicates were refused,
            # or by two officers at once) is paid once: the first payment.
            reason = self._exclusion_reason(batch, registrant, account, known)
            if reason:
                unusable |= payment
                exclusions.append(self._exclusion_vals(batch, registrant, reason))
                continue
            known.add(registrant.id)
            rows.append((payment.id, account.id, payees[registrant.id]))
        unusable.unlink()
        self._create_exclusions(exclusions)
        self.env.flush_all()
        execute_values(
            self.env.cr._obj,
            """UPDATE g2p_payment p SET bank_account_id = v.account, payee_id = v.payee
                 FROM (VALUES %s) AS v(id, account, payee) WHERE p.id = v.id""",
            rows,
            template="(%s::int, %s::int, %s::int)",
            page_size=5000,
        )
        # The snapshot: what the bank is told, whatever the registry changes later.
        self.env.cr.execute(
            SQL(
                """UPDATE g2p_payment p
                      SET account_number = coalesce(nullif(a.g2p_iban, ''),
                                                    a.acc_number),
                          account_type = a.g2p_account_type,
                          bank_code = coalesce(nullif(b.bic, ''), a.g2p_bank_code),
                          branch_code = a.g2p_branch_code,
                          holder_name = coalesce(nullif(a.acc_holder_name, ''),
                                                 r.name),
                          financial_address = a.g2p_financial_address,
                          wallet_provider = a.g2p_wallet_provider,
                          wallet_phone = a.g2p_phone,
                          wallet_email = a.g2p_email
                     FROM res_partner_bank a
                     LEFT JOIN res_bank b ON b.id = a.bank_id
                     JOIN res_partner r ON r.id = a.partner_id
                    WHERE p.batch_id = %s AND a.id = p.bank_account_id""",
                batch.id,
            )
        )
        self.env["g2p.payment"].invalidate_model()
        return len(exclusions) + self._exclude_refused(batch)

    @api.model
    def _exclude_refused(self, batch):
        """Exclude the payments whose details (as the bank would be told them) the
        bank refuses: too long for its fields, or with control characters. Without
        this a single one stopped the batch while sending, for good. Details of the
        batch itself that the bank refuses are an error. Returns the number
        excluded."""
        runner = self.env["g2p.payment.batch.runner"]
        common = runner._common_request(batch)
        reason = runner._refusal(common)
        if reason:
            raise UserError(
                _(
                    "The bank would refuse the batch %(b)s: %(r)s.",
                    b=batch.name,
                    r=reason,
                )
            )
        ids, requests = runner._next_chunk(batch, limit=len(batch.payment_ids))
        own = requests[0].keys() - common.keys() if requests else ()
        refused = {
            payment_id: reason
            for payment_id, request in zip(ids, requests, strict=True)
            if (reason := runner._refusal(request, own))
        }
        payments = self.env["g2p.payment"].browse(list(refused))
        exclusions = [
            self._exclusion_vals(
                batch,
                payment.registrant_id,
                (
                    "refused_details",
                    _(
                        "%(n)s (%(f)s): the bank would refuse the payment: %(r)s.",
                        n=payment.registrant_id.name,
                        f=payment.registrant_id.g2p_functional_id or "-",
                        r=refused[payment.id],
                    ),
                ),
            )
            for payment in payments
        ]
        payments.unlink()
        self._create_exclusions(exclusions)
        return len(exclusions)
