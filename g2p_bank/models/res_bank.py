from odoo import _, api, fields, models
from odoo.exceptions import ValidationError
from odoo.tools import SQL

from ..tools import account_numbers


class ResBank(models.Model):
    _inherit = "res.bank"

    g2p_name_key = fields.Char(
        string="Normalised name",
        compute="_compute_g2p_name_key",
        store=True,
        index=True,
        help="Lower-case name with single spaces: the key that tells two spellings "
        "of one bank apart from two banks.",
    )

    @api.depends("name")
    def _compute_g2p_name_key(self):
        for bank in self:
            bank.g2p_name_key = account_numbers.normalise_bank_name(bank.name)

    def init(self):
        # The database, not a search, guarantees that two concurrent requests cannot
        # create the same bank twice: a BIC is unique, and so is the name of a bank
        # known without a BIC.
        self.env.cr.execute(
            SQL(
                "CREATE UNIQUE INDEX IF NOT EXISTS res_bank_g2p_bic_uniq "
                "ON res_bank (bic) WHERE bic IS NOT NULL AND bic <> ''"
            )
        )
        self.env.cr.execute(
            SQL(
                "CREATE UNIQUE INDEX IF NOT EXISTS res_bank_g2p_name_key_uniq "
                "ON res_bank (g2p_name_key) WHERE bic IS NULL OR bic = ''"
            )
        )

    @api.constrains("bic", "country")
    def _check_g2p_bic_country(self):
        # Letters 5-6 of a BIC are its country: a bank elsewhere is a typing error
        # that would send payments abroad.
        for bank in self.filtered(lambda b: b.bic and b.country):
            if bank.bic[4:6] != bank.country.code:
                raise ValidationError(
                    _(
                        "The BIC %(bic)s is the code of a bank in %(bic_country)s, "
                        "but the bank %(bank)s is in %(country)s: check the BIC or "
                        "the country.",
                        bic=bank.bic,
                        bic_country=bank.bic[4:6],
                        bank=bank.name,
                        country=bank.country.name,
                    )
                )

    @api.model_create_multi
    def create(self, vals_list):
        self._g2p_check_bics(vals_list)
        self._g2p_check_names(
            [(vals.get("name"), vals.get("bic")) for vals in vals_list]
        )
        return super().create(vals_list)

    def write(self, vals):
        self._g2p_check_bics([vals], exclude=self)
        if "active" in vals and not vals["active"]:
            self._g2p_check_unused()
        if {"name", "bic"} & vals.keys():
            self._g2p_check_names(
                [
                    (vals.get("name", bank.name), vals.get("bic", bank.bic))
                    for bank in self
                ],
                exclude=self,
            )
        if "bic" not in vals:
            return super().write(vals)
        # A new BIC changes the financial address of every account at the bank:
        # the registrants' audit trails say so. sudo: archived accounts count too.
        accounts = (
            self.env["res.partner.bank"]
            .sudo()
            .with_context(active_test=False)
            .search([("bank_id", "in", self.ids)])
        )
        old_addresses = {acc.id: acc.g2p_financial_address for acc in accounts}
        result = super().write(vals)
        self.env["g2p.bank.account.audit"]._log_bic_change(
            accounts.with_env(self.env), old_addresses
        )
        return result

    def _g2p_check_unused(self):
        """Refuse to archive a bank holding open accounts of registrants: they
        would be paid at a bank no one can choose any more."""
        # sudo: every registrant's account counts, whoever archives.
        counts = (
            self.env["res.partner.bank"]
            .sudo()
            ._read_group(
                [
                    ("bank_id", "in", self.ids),
                    ("partner_id.is_registrant", "=", True),
                    ("g2p_state", "!=", "closed"),
                ],
                ["bank_id"],
                ["__count"],
            )
        )
        for bank, count in counts:
            raise ValidationError(
                _(
                    "%(bank)s holds %(count)s accounts of registrants that are not "
                    "closed: close them or move them to another bank before "
                    "archiving it.",
                    bank=bank.name,
                    count=count,
                )
            )

    @api.model
    def _g2p_check_names(self, items, exclude=None):
        """Refuse a bank without BIC named like another one (the unique index on
        the normalised name would only answer with SQL)."""
        keys = [
            account_numbers.normalise_bank_name(name) for name, bic in items if not bic
        ]
        if not keys:
            return
        domain = [
            ("g2p_name_key", "in", keys),
            "|",
            ("bic", "=", False),
            ("bic", "=", ""),
        ]
        if exclude:
            domain.append(("id", "not in", exclude.ids))
        taken = (
            self.sudo()
            .with_context(active_test=False)
            .search_fetch(domain, ["name"], limit=1)
        )
        if taken or len(set(keys)) < len(keys):
            raise ValidationError(
                _(
                    "A bank named %(name)s already exists: use it, or give the new "
                    "bank its BIC.",
                    name=taken.name or next(n for n, b in items if not b),
                )
            )

    @api.model
    def _g2p_check_bics(self, vals_list, exclude=None):
        """Normalise the BICs of ``vals_list``; refuse one that another bank has."""
        bics = []
        for vals in vals_list:
            if vals.get("bic"):
                vals["bic"] = self._g2p_normalise_bic(vals["bic"])
                bics.append(vals["bic"])
        if not bics:
            return
        domain = [("bic", "in", bics)]
        if exclude:
            domain.append(("id", "not in", exclude.ids))
        taken = self.with_context(active_test=False).search_fetch(
            domain, ["name", "bic"]
        )
        if taken or len(set(bics)) < len(bics):
            raise ValidationError(
                _(
                    "A bank with the BIC %(bic)s is already registered%(bank)s: use it "
                    "instead of creating another one.",
                    bic=taken[:1].bic or bics[0],
                    bank=f" ({taken[:1].name})" if taken else "",
                )
            )

    @api.model
    def _g2p_normalise_bic(self, bic):
        """The BIC in its compact form (a trailing "XXX" dropped), or a clear error."""
        try:
            bic = account_numbers.normalise_bic(bic)
        except account_numbers.SchwiftyException as exc:
            raise ValidationError(
                _(
                    "The BIC (SWIFT code) %(bic)s is not valid: %(reason)s. A BIC has "
                    "8 or 11 letters and digits, e.g. DEUTDEFF or DEUTDEFF500.",
                    bic=bic,
                    reason=exc,
                )
            ) from exc
        return bic[:8] if bic.endswith("XXX") else bic

    @api.model
    def _g2p_lookup_or_create(self, bic=None, name=None):
        """Find a bank by BIC, else by normalised name; create it when unknown.

        ``bic`` and ``name`` are strings, or lists of the same length for bulk callers
        (then a recordset aligned with the lists is returned, repeats included).
        A bank known only by its name gets the BIC when a caller supplies both.
        """
        many = isinstance(bic, list | tuple) or isinstance(name, list | tuple)
        if not many:
            bic, name = [bic], [name]
        bic = list(bic or [None] * len(name))
        name = list(name or [None] * len(bic))
        if len(bic) != len(name):
            raise ValidationError(_("Give as many bank names as BICs."))
        items = []
        for item_bic, item_name in zip(bic, name, strict=True):
            key = account_numbers.normalise_bank_name(item_name)
            if not item_bic and not key:
                raise ValidationError(_("A bank needs a BIC or a name."))
            norm_bic = self._g2p_normalise_bic(item_bic) if item_bic else False
            items.append((norm_bic, key, (item_name or "").strip() or norm_bic))
        banks = self._g2p_resolve(items)
        return banks if many else banks[:1]

    def _g2p_resolve(self, items):
        found = self._g2p_find(items)
        missing = [item for item in items if not self._g2p_pick(found, item)]
        if missing:
            self._g2p_complete_or_insert(found, missing)
            found = self._g2p_find(items)
        ids = []
        for item in items:
            bank = self._g2p_pick(found, item)
            if not bank:
                raise ValidationError(
                    _("The bank %(bank)s could not be registered.", bank=item[2])
                )
            ids.append(bank.id)
        return self.browse(ids)

    def _g2p_find(self, items):
        bics = {bic for bic, _key, _name in items if bic}
        keys = {key for _bic, key, _name in items if key}
        banks = self.with_context(active_test=False).search(
            ["|", ("bic", "in", list(bics)), ("g2p_name_key", "in", list(keys))],
            order="id",
        )
        by_bic = {bank.bic: bank for bank in banks if bank.bic}
        by_key = {}
        for bank in banks:
            by_key.setdefault(bank.g2p_name_key, bank)
        return by_bic, by_key

    @staticmethod
    def _g2p_pick(found, item):
        by_bic, by_key = found
        bic, key, _name = item
        return by_bic.get(bic) if bic else by_key.get(key)

    def _g2p_complete_or_insert(self, found, missing):
        by_key = found[1]
        to_insert = {}
        for bic, key, name in missing:
            if bic and key in by_key and not by_key[key].bic:
                by_key[key].bic = bic
            else:
                to_insert.setdefault(bic or key, (bic, key, name))
        if not to_insert:
            return
        self.check_access("create")
        self.flush_model()
        # ON CONFLICT DO NOTHING: a bank inserted meanwhile by a concurrent request is
        # either found by the next search or, if our snapshot cannot see it yet,
        # PostgreSQL raises a serialization failure and Odoo retries the request.
        now = fields.Datetime.now()
        uid = self.env.uid
        rows = [
            SQL(
                "(%s, %s, %s, TRUE, %s, %s, %s, %s)",
                name,
                bic or None,
                key,
                uid,
                now,
                uid,
                now,
            )
            for bic, key, name in to_insert.values()
        ]
        self.env.cr.execute(
            SQL(
                "INSERT INTO res_bank (name, bic, g2p_name_key, active, create_uid,"
                " create_date, write_uid, write_date) VALUES %s ON CONFLICT DO NOTHING",
                SQL(", ").join(rows),
            )
        )
        self.invalidate_model()
