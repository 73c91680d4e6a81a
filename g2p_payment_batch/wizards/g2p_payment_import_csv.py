import base64
import csv
import io
from decimal import Decimal, InvalidOperation

from odoo import _, api, fields, models
from odoo.exceptions import UserError


class G2PPaymentImportCsv(models.TransientModel):
    """Add payments from a CSV file (functional ID, amount): a preview lists every
    row with its error; only rows without error are added."""

    _name = "g2p.payment.import.csv"
    _description = "Import payments from CSV"

    batch_id = fields.Many2one("g2p.payment.batch", required=True)
    currency_id = fields.Many2one(related="batch_id.currency_id")
    csv_file = fields.Binary(string="CSV file", required=True)
    csv_filename = fields.Char()
    line_ids = fields.One2many("g2p.payment.import.csv.line", "wizard_id")
    valid_count = fields.Integer(compute="_compute_line_counts")
    error_count = fields.Integer(compute="_compute_line_counts")

    @api.depends("line_ids.error")
    def _compute_line_counts(self):
        for wizard in self:
            wizard.error_count = len(wizard.line_ids.filtered("error"))
            wizard.valid_count = len(wizard.line_ids) - wizard.error_count

    def action_preview(self):
        self.ensure_one()
        self.line_ids = [fields.Command.clear()] + [
            fields.Command.create(vals) for vals in self._read_rows()
        ]
        return self._reopen()

    def action_import(self):
        self.ensure_one()
        if not self.line_ids:
            self.action_preview()
        valid = self.line_ids.filtered(lambda line: not line.error)
        if not valid:
            raise UserError(_("No row of the file can be imported: see the errors."))
        # The amounts as written in the file (checked), not the preview's float field.
        payments, exclusions = self.env["g2p.payment.batch.builder"]._add_payments(
            self.batch_id,
            [(line.registrant_id, Decimal(line.raw_amount)) for line in valid],
        )
        self.batch_id.message_post(
            body=_(
                "%(n)s imported from %(f)s; %(x)s excluded, %(e)s rows with errors "
                "skipped.",
                n=self.batch_id._payments_label(len(payments)),
                f=self.csv_filename or _("CSV"),
                x=len(exclusions),
                e=self.error_count,
            )
        )
        return self.batch_id._action_open()

    def _reopen(self):
        return {
            "type": "ir.actions.act_window",
            "res_model": self._name,
            "res_id": self.id,
            "view_mode": "form",
            "target": "new",
        }

    def _read_rows(self):
        """One dict per data row: functional ID, amount, registrant, error."""
        try:
            text = base64.b64decode(self.csv_file).decode("utf-8-sig")
        except (UnicodeDecodeError, ValueError):
            raise UserError(_("The file is not a UTF-8 CSV file.")) from None
        rows = list(csv.reader(io.StringIO(text)))
        if (
            rows
            and rows[0]
            and rows[0][0].strip().lower()
            in (
                "functional_id",
                "functional id",
            )
        ):
            rows = rows[1:]
        rows = [row for row in rows if any(cell.strip() for cell in row)]
        fids = {row[0].strip() for row in rows if row}
        partners = (
            self.env["res.partner"]
            .with_context(active_test=False)
            .search([("g2p_functional_id", "in", list(fids))])
        )
        by_fid = {p.g2p_functional_id: p for p in partners}
        seen, result = set(), []
        for number, row in enumerate(rows, start=1):
            fid = row[0].strip() if row else ""
            raw = row[1].strip() if len(row) > 1 else ""
            vals = {"row": number, "functional_id": fid, "raw_amount": raw}
            # Cells beyond the second are no longer ignored: "F09,1,000" (a
            # thousands separator) was read as 1.
            vals["error"] = (
                any(cell.strip() for cell in row[2:])
                and _(
                    "The row has %(n)s columns, not 2 (functional_id,amount): write "
                    "amounts without thousands separators.",
                    n=len(row),
                )
            ) or self._row_error(fid, raw, by_fid, seen)
            if not vals["error"]:
                vals["registrant_id"] = by_fid[fid].id
                vals["amount"] = float(Decimal(raw))  # shown in the preview only
            seen.add(fid)
            result.append(vals)
        return result

    def _row_error(self, fid, raw, by_fid, seen):
        if not fid:
            return _("No functional ID.")
        if fid not in by_fid:
            return _("Unknown functional ID %(f)s.", f=fid)
        if fid in seen:
            return _("%(f)s appears twice in the file.", f=fid)
        try:
            amount = Decimal(raw)
        except InvalidOperation:
            return _("%(a)s is not an amount.", a=raw or _("(empty)"))
        return self.env["g2p.payment.batch.builder"]._amount_error(
            amount, self.currency_id
        )


class G2PPaymentImportCsvLine(models.TransientModel):
    _name = "g2p.payment.import.csv.line"
    _description = "Row of a payment CSV import"
    _order = "row"

    wizard_id = fields.Many2one(
        "g2p.payment.import.csv", required=True, ondelete="cascade"
    )
    row = fields.Integer()
    functional_id = fields.Char()
    raw_amount = fields.Char(string="Amount in file")
    registrant_id = fields.Many2one("res.partner")
    currency_id = fields.Many2one(related="wizard_id.currency_id")
    amount = fields.Monetary()
    error = fields.Char()
