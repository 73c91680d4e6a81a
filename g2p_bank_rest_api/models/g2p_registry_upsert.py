from collections import Counter
from contextlib import contextmanager
from dataclasses import dataclass, field

import psycopg2
import psycopg2.errors

from odoo import _, api, models
from odoo.exceptions import AccessError, MissingError, UserError
from odoo.tools import SQL

from ..registry_errors import ConcurrentRegistration, RegistryError
from ..schemas.registry import RegistrantUpdate

#: The unique constraint g2p_bank puts on functional IDs.
FUNCTIONAL_ID_CONSTRAINT = "res_partner_g2p_functional_id_uniq"


@dataclass
class _Item:
    """One registrant of a request on its way to the database."""

    index: int
    data: RegistrantUpdate
    partner: object = None  # the existing or created res.partner
    partner_vals: dict = field(default_factory=dict)
    accounts: list = field(default_factory=list)  # [(AccountIn, vals)]
    error: RegistryError = None
    status: str = "unchanged"

    @property
    def functional_id(self):
        return self.data.functional_id or (
            self.partner.g2p_functional_id if self.partner else None
        )


class G2PRegistryUpsert(models.AbstractModel):
    """Create or update registrants, with their members and accounts, set-based.

    :meth:`_upsert` validates and looks up what a request names (registrants,
    countries, currencies, banks, members) once for all its items, creates new
    registrants with one ``create()`` per model, and falls back to one savepoint per
    item when that fast path meets an invalid item. Existing registrants are updated
    one by one, each in its own savepoint, writing only what differs; accounts are
    upserted by g2p_bank's ``g2p.bank.account.upsert``.
    """

    _name = "g2p.registry.upsert"
    _description = "Registry upsert of registrants"

    def _upsert(self, datas, mode, partners=None, check=None):
        """Create (``mode="create"``), update (``"update"``) or create-or-update
        (``"upsert"``) registrants; return the ``_Item`` of each, in order.

        ``check(item)``, called once everything is looked up, may refuse an item by
        returning a RegistryError."""
        items = [_Item(index, data) for index, data in enumerate(datas)]
        self._match_partners(items, mode, partners)
        self._prepare_partner_vals(items)
        self._prepare_account_vals(items)
        for item in items:
            if check and not item.error:
                item.error = check(item)
        new = [item for item in items if not item.error and not item.partner]
        if new:
            try:
                self._create_all(new)
            except ConcurrentRegistration:
                self._retry_request()
        for item in items:
            if not item.error and item.status == "unchanged":
                self._in_savepoint(item, self._update_one)
        return items

    def _match_partners(self, items, mode, partners):
        if partners:
            for item, partner in zip(items, partners, strict=True):
                item.partner = partner
            return
        fids = [item.data.functional_id for item in items if item.data.functional_id]
        existing = self._by_functional_id(fids, registrants_only=False)
        seen = set()
        for item in items:
            fid = item.data.functional_id
            if item.error:
                continue
            if fid in seen:
                item.error = RegistryError(
                    "DUPLICATE_FUNCTIONAL_ID",
                    _("The functional ID %(fid)s is given twice.", fid=fid),
                )
            elif not fid and mode != "create":
                item.error = RegistryError(
                    "FUNCTIONAL_ID_REQUIRED",
                    _("A functional ID is required here: it identifies the item."),
                )
            elif fid in existing and (
                mode == "create" or not existing[fid].is_registrant
            ):
                item.error = RegistryError(
                    "FUNCTIONAL_ID_TAKEN",
                    _(
                        "The functional ID %(fid)s is already used by %(name)s.",
                        fid=fid,
                        name=existing[fid].name,
                    ),
                    409,
                )
            elif fid not in existing and mode == "update":
                item.error = self._not_found(fid)
            item.partner = existing.get(fid) if not item.error else None
            if fid:
                seen.add(fid)

    def _prepare_partner_vals(self, items):
        codes = {
            item.data.country_code
            for item in items
            if item.data.country_code and not item.error
        }
        countries = {
            country.code: country.id
            for country in self.env["res.country"].search([("code", "in", list(codes))])
        }
        for item in items:
            if item.error:
                continue
            data = item.data
            vals = data.to_res_partner_vals()
            if "country_code" in data.model_fields_set:
                vals["country_id"] = countries.get(data.country_code, False)
                if data.country_code and not vals["country_id"]:
                    item.error = RegistryError(
                        "UNKNOWN_COUNTRY",
                        _("%(code)s is not a country code.", code=data.country_code),
                    )
            is_group = getattr(data, "is_group", None)
            if item.partner and "is_group" in data.model_fields_set:
                if is_group != item.partner.is_group:
                    item.error = RegistryError(
                        "KIND_IMMUTABLE",
                        _(
                            "%(name)s cannot change between individual and group.",
                            name=item.partner.name,
                        ),
                        409,
                    )
            elif not item.partner:
                vals.update(
                    is_registrant=True,
                    is_group=bool(is_group),
                    g2p_functional_id=data.functional_id or False,
                )
            if data.members is not None and not (
                item.partner.is_group if item.partner else is_group
            ):
                item.error = item.error or RegistryError(
                    "INVALID_MEMBERS", _("Only groups have members.")
                )
            item.error = item.error or self._duplicate_member_error(data.members)
            item.partner_vals = vals

    @api.model
    def _duplicate_member_error(self, members):
        """A RegistryError naming the members listed twice, else None (the database
        would refuse the second membership, on create; on update the last would
        silently win)."""
        counts = Counter(member.functional_id for member in members or [])
        twice = [fid for fid, count in counts.items() if count > 1]
        if not twice:
            return None
        return RegistryError(
            "DUPLICATE_MEMBER",
            _(
                "A member is listed more than once: %(fids)s. List each member once.",
                fids=", ".join(twice),
            ),
        )

    def _prepare_account_vals(self, items):
        """Validate and normalise the accounts of ``items`` in Python; look the banks
        and currencies up once for all of them."""
        pending = []  # (item, account, vals, (bic, name) or None)
        for item in items:
            for account in (item.data.accounts or []) if not item.error else []:
                try:
                    vals, bank_key = self._account_vals(account)
                except RegistryError as error:
                    item.error = error
                    break
                pending.append((item, account, vals, bank_key))
        with_bank = [entry for entry in pending if entry[3] and not entry[0].error]
        if with_bank:
            keys = list(dict.fromkeys(entry[3] for entry in with_bank))
            banks = self.env["res.bank"]._g2p_lookup_or_create(
                bic=[bic for bic, _name in keys], name=[name for _bic, name in keys]
            )
            bank_ids = dict(zip(keys, banks.ids, strict=True))
            for _item, _account, vals, key in with_bank:
                vals["bank_id"] = bank_ids[key]
        codes = {
            account.currency for _i, account, _v, _b in pending if account.currency
        }
        currencies = {
            currency.name: currency.id
            for currency in self.env["res.currency"].search(
                [("name", "in", list(codes))]
            )
        }
        for item, account, vals, _bank in pending:
            if account.currency:
                vals["currency_id"] = currencies.get(account.currency)
                if not vals["currency_id"]:
                    item.error = item.error or RegistryError(
                        "INVALID_ACCOUNT",
                        _(
                            "The currency %(code)s is unknown or not active.",
                            code=account.currency,
                        ),
                    )
            item.accounts.append((account, vals))

    def _account_vals(self, account):
        """``(vals, (bic, bank name) or None)`` of an AccountIn, normalised as the
        models store them (so that a replay finds nothing to change)."""
        with self._errors_as("INVALID_ACCOUNT"):
            vals = self.env["g2p.bank.account.upsert"]._normalise(
                account.to_res_partner_bank_vals()
            )
            bic = account.bank_bic and self.env["res.bank"]._g2p_normalise_bic(
                account.bank_bic
            )
        if bic or account.bank_name:
            return vals, (bic or None, account.bank_name or None)
        return vals, None

    def _create_all(self, items):
        """Create new registrants with one create() per model; on an invalid item,
        create them one by one, each in its own savepoint."""
        try:
            with self.env.cr.savepoint():
                self._create_batch(items)
        except RegistryError:
            for item in items:
                item.partner = None
                item.status = "unchanged"
            # Individuals first: groups of the same request may name them.
            for item in sorted(items, key=lambda item: item.partner_vals["is_group"]):
                self._in_savepoint(item, lambda item: self._create_batch([item]))

    def _create_batch(self, items):
        # As Odoo's own import: the API client does not follow the registrants it
        # creates, and no "Contact created" line is logged (create_uid says who); the
        # accounts added are audited by g2p_bank all the same.
        Partner = self.env["res.partner"].with_context(
            mail_create_nosubscribe=True, mail_create_nolog=True
        )
        with self._errors_as("INVALID_REGISTRANT"):
            partners = Partner.create([item.partner_vals for item in items])
        partners = partners.with_env(self.env)
        for item, partner in zip(items, partners, strict=True):
            item.partner = partner
        individuals = self._by_functional_id(
            [
                member.functional_id
                for item in items
                for member in item.data.members or []
            ]
        )
        memberships = []
        for item in items:
            if item.data.members:
                memberships += self._membership_vals(
                    item.partner, item.data.members, individuals
                )
        if memberships:
            with self._errors_as("INVALID_MEMBERS"):
                self.env["g2p.group.membership"].create(memberships)
        account_vals = []
        for item in items:
            for account, vals in item.accounts:
                if account.remove:
                    raise self._account_not_found(item.partner, account)
                account_vals.append(dict(vals, partner_id=item.partner.id))
        if account_vals:
            with self._errors_as("INVALID_ACCOUNT"):
                self.env["res.partner.bank"].create(account_vals)
        with self._errors_as("INVALID_REGISTRANT"):
            self.env.flush_all()  # constraint errors now, as an item error
        for item in items:
            item.status = "created"

    def _update_one(self, item):
        """Write what differs from the database; "unchanged" when nothing does."""
        partner = item.partner
        changed = False
        vals = self._partner_changes(partner, item.partner_vals)
        if vals:
            with self._errors_as("INVALID_REGISTRANT"):
                partner.write(vals)
            changed = True
        if item.data.members is not None:
            changed |= self._sync_members(partner, item.data.members)
        if item.accounts:
            with self._errors_as("INVALID_ACCOUNT", missing_code="ACCOUNT_NOT_FOUND"):
                changed |= self.env["g2p.bank.account.upsert"]._upsert(
                    partner,
                    [(vals, account.remove) for account, vals in item.accounts],
                )
        with self._errors_as("INVALID_REGISTRANT"):
            self.env.flush_all()  # constraint errors now, as an item error
        item.status = "updated" if changed else "unchanged"

    def _sync_members(self, group, members):
        individuals = self._by_functional_id([m.functional_id for m in members])
        wanted = self._membership_vals(group, members, individuals)
        wanted = {vals["individual_id"]: vals["is_head"] for vals in wanted}
        current = group.group_member_ids
        gone = current.filtered(lambda m: m.individual_id.id not in wanted)
        kept = current - gone
        flipped = kept.filtered(lambda m: m.is_head != wanted[m.individual_id.id])
        added = set(wanted) - set(kept.individual_id.ids)
        if not (gone or flipped or added):
            return False
        stepping_down = flipped.filtered("is_head")
        with self._errors_as("INVALID_MEMBERS"):
            gone.unlink()
            # The old head steps down before the new one is named (one head only).
            stepping_down.write({"is_head": False})
            (flipped - stepping_down).write({"is_head": True})
            self.env["g2p.group.membership"].create(
                [
                    {"group_id": group.id, "individual_id": pid, "is_head": wanted[pid]}
                    for pid in added
                ]
            )
        return True

    def _membership_vals(self, group, members, individuals):
        """Membership values of ``group``; ``individuals``: {functional ID: partner}."""
        vals = []
        for member in members:
            individual = individuals.get(member.functional_id)
            if not individual:
                raise RegistryError(
                    "UNKNOWN_MEMBER",
                    _(
                        "No registrant has the functional ID %(fid)s: register the "
                        "individual before (or earlier in the same request than) the "
                        "group.",
                        fid=member.functional_id,
                    ),
                )
            vals.append(
                {
                    "group_id": group.id,
                    "individual_id": individual.id,
                    "is_head": member.is_head,
                }
            )
        return vals

    def _by_functional_id(self, fids, registrants_only=True):
        """``{functional ID: partner}`` in one query, archived partners included."""
        if not fids:
            return {}
        domain = [("g2p_functional_id", "in", list(set(fids)))]
        if registrants_only:
            domain.append(("is_registrant", "=", True))
        partners = (
            self.env["res.partner"].with_context(active_test=False).search(domain)
        )
        return {partner.g2p_functional_id: partner for partner in partners}

    @api.model
    def _partner_changes(self, partner, vals):
        """The part of ``vals`` that differs from ``partner``."""
        changes = {}
        for fname, value in vals.items():
            current = partner[fname]
            if partner._fields[fname].type == "many2one":
                current = current.id
            if (current or False) != (value or False):
                changes[fname] = value
        return changes

    def _in_savepoint(self, item, function):
        """Run ``function(item)``; on a refusal undo its writes, note the error."""
        partner = item.partner
        try:
            with self.env.cr.savepoint():
                function(item)
        except RegistryError as error:
            item.error = error
            item.partner = partner  # a partner created by function is gone

    @contextmanager
    def _errors_as(self, code, missing_code=None):
        """Turn the models' refusals into a RegistryError with ``code`` (and
        MissingError into one with ``missing_code`` and 404, when given)."""
        try:
            yield
        except AccessError:
            raise
        except MissingError as error:
            if not missing_code:
                raise
            raise RegistryError(missing_code, str(error.args[0]), 404) from error
        except UserError as error:
            raise RegistryError(code, str(error.args[0])) from error
        except psycopg2.errors.UniqueViolation as error:
            if error.diag.constraint_name == FUNCTIONAL_ID_CONSTRAINT:
                raise ConcurrentRegistration() from error
            # What one request can repeat by itself (a member, an account, a second
            # primary account) is refused before it reaches the database: a unique
            # key met here was written by a concurrent request.
            raise RegistryError(
                "CONFLICT",
                _(
                    "The request conflicts with a concurrent change (%(detail)s): "
                    "retry it.",
                    detail=error.diag.message_detail or error.diag.constraint_name,
                ),
                409,
            ) from error
        except psycopg2.errors.ForeignKeyViolation as error:
            # A record the request names was deleted by a concurrent request.
            raise RegistryError(
                "CONFLICT",
                _("The request conflicts with a concurrent change: retry it."),
                409,
            ) from error
        except psycopg2.IntegrityError as error:
            # A check or not-null constraint: the request's values, not a race.
            raise RegistryError(
                code,
                _(
                    "The database refused the values: %(reason)s",
                    reason=error.diag.message_primary or error.pgcode,
                ),
            ) from error

    def _retry_request(self):
        """Have Odoo retry the whole request (as after any serialization failure):
        a concurrent request registered a functional ID this transaction's snapshot
        cannot see. The retry sees it: a bulk item is then updated (or unchanged), a
        single create answers FUNCTIONAL_ID_TAKEN; never two registrants."""
        self.env.cr.execute(
            SQL(
                "DO $$ BEGIN RAISE EXCEPTION 'functional ID registered concurrently' "
                "USING ERRCODE = 'serialization_failure'; END $$"
            )
        )

    @api.model
    def _not_found(self, functional_id):
        return RegistryError(
            "REGISTRANT_NOT_FOUND",
            _("No registrant has the functional ID %(fid)s.", fid=functional_id),
            404,
        )

    @api.model
    def _account_not_found(self, partner, account):
        return RegistryError(
            "ACCOUNT_NOT_FOUND",
            _(
                "%(name)s has no such account to remove (%(number)s).",
                name=partner.name,
                number=account.iban
                or account.account_number
                or account.phone
                or account.email,
            ),
            404,
        )
