from contextlib import contextmanager
from dataclasses import dataclass, field

import psycopg2
import psycopg2.errors
from fastapi import HTTPException

from odoo import _, api, models
from odoo.exceptions import AccessError, UserError
from odoo.osv import expression
from odoo.tools import SQL

from odoo.addons.g2p_bank.tools import account_numbers

from ..schemas.registry import (
    BulkItemResult,
    BulkResult,
    ErrorDetail,
    FinancialAddressOut,
    RegistrantOut,
    RegistrantPage,
    RegistrantUpdate,
    ResolveItem,
    ResolveResult,
)

#: The unique constraint g2p_bank puts on functional IDs.
FUNCTIONAL_ID_CONSTRAINT = "res_partner_g2p_functional_id_uniq"


class ConcurrentRegistration(Exception):
    """A concurrent request registered one of our new functional IDs first."""


class RegistryError(Exception):
    """A refusal with a stable code: an HTTP error for a single request, an item
    error in a bulk request."""

    def __init__(self, code, message, status=422):
        super().__init__(message)
        self.code = code
        self.message = message
        self.status = status

    def as_http(self):
        return HTTPException(
            self.status, detail={"code": self.code, "message": self.message}
        )


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


class G2PRegistryApiRouterHelper(models.AbstractModel):
    """The use cases of the registry app.

    Every write goes through :meth:`_upsert`: it validates and looks up what a
    request names (registrants, countries, currencies, banks, members) once for all
    its items, creates new registrants with one ``create()`` per model, and falls
    back to one savepoint per item when that fast path meets an invalid item.
    """

    _name = "g2p.registry.api.router.helper"
    _description = "Registry API use cases"

    # ------------------------------------------------------------ reading

    def get_registrant(self, registrant_id):
        return RegistrantOut.from_res_partner(self._registrant(registrant_id))

    def get_by_functional_id(self, functional_id):
        partner = self._by_functional_id([functional_id]).get(functional_id)
        if not partner:
            raise self._not_found(functional_id).as_http()
        return RegistrantOut.from_res_partner(partner)

    def search_registrants(self, filters, limit, offset):
        domain = [("is_registrant", "=", True)]
        if filters.name:
            domain.append(("name", "ilike", filters.name))
        if filters.functional_id:
            domain.append(("g2p_functional_id", "=", filters.functional_id))
        if filters.account_number:
            domain.append(
                ("bank_ids", "any", self._account_domain(filters.account_number))
            )
        if filters.is_group is not None:
            domain.append(("is_group", "=", filters.is_group))
        if filters.active is not None:
            domain.append(("active", "=", filters.active))
        Partner = self.env["res.partner"].with_context(active_test=False)
        partners = Partner.search(domain, limit=limit, offset=offset, order="id")
        return RegistrantPage(
            count=Partner.search_count(domain),
            items=[RegistrantOut.from_res_partner(partner) for partner in partners],
        )

    @api.model
    def _account_domain(self, number):
        """Accounts whose number, IBAN, wallet phone or wallet email is ``number``
        (an empty normalised value matches nothing, not every empty field)."""
        keys = [
            ("sanitized_acc_number", account_numbers.compact(number)),
            ("g2p_phone", account_numbers.normalise_phone(number)),
            ("g2p_email", number.strip().lower()),
        ]
        domains = [[(fname, "=", value)] for fname, value in keys if value]
        return expression.OR(domains) if domains else [("id", "=", 0)]

    def get_mapping(self, functional_id):
        item = self.resolve([functional_id]).items[0]
        if item.error:
            raise HTTPException(404, detail=item.error.model_dump())
        return item.mapping

    def resolve(self, functional_ids):
        """The financial address each functional ID is paid at (account mapper)."""
        partners = self._by_functional_id(functional_ids)
        found = self.env["res.partner"].union(*partners.values())
        accounts = found._g2p_payment_accounts()
        items = []
        for fid in functional_ids:
            partner = partners.get(fid)
            account = accounts.get(partner.id) if partner else None
            if not partner:
                error = self._not_found(fid)
            elif not account:
                error = RegistryError(
                    "NO_PAYMENT_ACCOUNT",
                    _(
                        "%(fid)s has no open primary account to be paid on.",
                        fid=fid,
                    ),
                    404,
                )
            else:
                error = None
            items.append(
                ResolveItem(
                    functional_id=fid,
                    found=not error,
                    mapping=None
                    if error
                    else FinancialAddressOut.from_res_partner_bank(account, fid),
                    error=self._error_detail(error),
                )
            )
        return ResolveResult(items=items)

    # ------------------------------------------------------------ writing

    def create_registrant(self, data):
        item = self._upsert([data], mode="create")[0]
        if item.error:
            raise item.error.as_http()
        return RegistrantOut.from_res_partner(item.partner)

    def update_registrant(self, registrant_id, data):
        partner = self._registrant(registrant_id)
        if data.functional_id and data.functional_id != partner.g2p_functional_id:
            raise RegistryError(
                "FUNCTIONAL_ID_IMMUTABLE",
                _(
                    "The functional ID of %(name)s is %(fid)s and cannot be changed: "
                    "payment systems know the registrant by it.",
                    name=partner.name,
                    fid=partner.g2p_functional_id,
                ),
                409,
            ).as_http()
        item = self._upsert([data], mode="update", partners=[partner])[0]
        if item.error:
            raise item.error.as_http()
        return RegistrantOut.from_res_partner(partner)

    def remove_account(self, registrant_id, account_id):
        """Archive one account of a registrant (kept for the audit trail)."""
        partner = self._registrant(registrant_id)
        account = partner.with_context(active_test=False).bank_ids.filtered(
            lambda acc: acc.id == account_id
        )
        if not account:
            raise RegistryError(
                "ACCOUNT_NOT_FOUND",
                _("%(name)s has no account %(id)s.", name=partner.name, id=account_id),
                404,
            ).as_http()
        if account.active:
            with self._errors_as("INVALID_ACCOUNT"):
                account.write({"active": False})

    def bulk_upsert(self, request):
        """Create or update up to 1,000 registrants by functional ID."""
        return self._bulk_result(self._upsert(request.registrants, mode="upsert"))

    def register_mappings(self, request, replace=False):
        """Map registrants to the account they are paid on (made primary).

        Registering refuses a registrant already mapped to another account;
        ``replace`` (updating) refuses one not mapped yet."""
        datas = [
            # Not validated again: the mapping was, and only the keys it gives count.
            RegistrantUpdate.model_construct(
                {"functional_id", "accounts"},
                functional_id=mapping.functional_id,
                accounts=[mapping.account.model_copy(update={"is_primary": True})],
            )
            for mapping in request.mappings
        ]
        items = self._upsert(
            datas,
            mode="update",
            check=lambda item: self._mapping_error(item, replace),
        )
        return self._bulk_result(items)

    # ------------------------------------------------------------ the upsert

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
            item.partner_vals = vals

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
        vals = account.to_res_partner_bank_vals()
        numbers = self.env["g2p.bank.account.number"]
        with self._errors_as("INVALID_ACCOUNT"):
            iban_given = "g2p_iban" in vals
            numbers._prepare_vals(vals, for_write=True)
            if not iban_given and vals.get("g2p_iban") is False:
                # Not "the IBAN is stale" but "not given": a derived IBAN stays.
                del vals["g2p_iban"]
            # An IBAN alone becomes the number of a new account (g2p_bank does it)
            # but never replaces the local number of the account it matches.
            if vals["g2p_account_type"] != "bank_account":
                vals.pop("acc_number", None)
                if not vals.get("g2p_wallet_provider"):
                    raise RegistryError(
                        "INVALID_ACCOUNT",
                        _("A wallet needs its provider (wallet_provider)."),
                    )
                numbers._prepare_vals(dict(vals))  # phone / email present
            elif not (vals.get("acc_number") or vals.get("g2p_iban")):
                raise RegistryError(
                    "INVALID_ACCOUNT",
                    _("A bank account needs an account number or an IBAN."),
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
        vals = self._changes(partner, item.partner_vals)
        if vals:
            with self._errors_as("INVALID_REGISTRANT"):
                partner.write(vals)
            changed = True
        if item.data.members is not None:
            changed |= self._sync_members(partner, item.data.members)
        changed |= self._sync_accounts(partner, item.accounts)
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

    def _sync_accounts(self, partner, accounts):
        existing = partner.with_context(active_test=False).bank_ids
        changed, to_create = False, []
        for account, vals in accounts:
            match = self._match_account(existing, vals)
            if account.remove:
                if not match:
                    raise self._account_not_found(partner, account)
                if match.active:
                    with self._errors_as("INVALID_ACCOUNT"):
                        match.write({"active": False})
                    changed = True
            elif match:
                updates = self._changes(match, dict(vals, active=True))
                if updates:
                    with self._errors_as("INVALID_ACCOUNT"):
                        match.write(updates)
                    changed = True
            else:
                to_create.append(dict(vals, partner_id=partner.id))
        if to_create:
            with self._errors_as("INVALID_ACCOUNT"):
                self.env["res.partner.bank"].create(to_create)
            changed = True
        return changed

    @api.model
    def _match_account(self, accounts, vals):
        """The account ``vals`` designates: same IBAN, else same number at the same
        bank (any bank when none is named), else same wallet provider and phone or
        email."""
        iban = vals.get("g2p_iban")
        if iban:
            match = accounts.filtered(lambda acc: acc.g2p_iban == iban)
            if match:
                return match[:1]
        acc_type = vals["g2p_account_type"]
        if acc_type == "bank_account":
            number = account_numbers.compact(vals.get("acc_number"))
            return accounts.filtered(
                lambda acc: (
                    acc.g2p_account_type == "bank_account"
                    and acc.sanitized_acc_number == number
                    and ("bank_id" not in vals or acc.bank_id.id == vals["bank_id"])
                )
            )[:1]
        provider = self._provider_key(vals.get("g2p_wallet_provider"))
        wallet_field = "g2p_phone" if acc_type == "mobile_wallet" else "g2p_email"
        return accounts.filtered(
            lambda acc: (
                acc.g2p_account_type == acc_type
                and self._provider_key(acc.g2p_wallet_provider) == provider
                and acc[wallet_field] == vals.get(wallet_field)
            )
        )[:1]

    # ------------------------------------------------------------ small tools

    @api.model
    def _changes(self, record, vals):
        """The part of ``vals`` that differs from ``record``."""
        changes = {}
        for fname, value in vals.items():
            current = record[fname]
            if record._fields[fname].type == "many2one":
                current = current.id
            if fname == "acc_number":
                same = account_numbers.compact(current) == account_numbers.compact(
                    value
                )
            else:
                same = (current or False) == (value or False)
            if not same:
                changes[fname] = value
        return changes

    @api.model
    def _provider_key(self, provider):
        return "".join((provider or "").split()).lower()

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

    def _registrant(self, registrant_id):
        partner = (
            self.env["res.partner"]
            .with_context(active_test=False)
            .search([("id", "=", registrant_id), ("is_registrant", "=", True)])
        )
        if not partner:
            raise RegistryError(
                "REGISTRANT_NOT_FOUND",
                _("No registrant has the id %(id)s.", id=registrant_id),
                404,
            ).as_http()
        return partner

    def _mapping_error(self, item, replace):
        account, vals = item.accounts[0]
        if account.remove or vals.get("g2p_state") == "closed":
            return RegistryError(
                "INVALID_MAPPING",
                _(
                    "A mapping names the open account to pay: it cannot close or "
                    "remove it."
                ),
            )
        current = item.partner.g2p_primary_bank_account_id
        if replace and not current:
            return RegistryError(
                "NOT_MAPPED",
                _(
                    "%(fid)s has no mapping to update: register it first.",
                    fid=item.functional_id,
                ),
                404,
            )
        if not replace and current and not self._match_account(current, vals):
            return RegistryError(
                "ALREADY_MAPPED",
                _(
                    "%(fid)s is already mapped to %(address)s: update the mapping "
                    "instead.",
                    fid=item.functional_id,
                    address=current.g2p_financial_address,
                ),
                409,
            )
        return None

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
    def _errors_as(self, code):
        """Turn the models' refusals into a RegistryError with ``code``."""
        try:
            yield
        except AccessError:
            raise
        except UserError as error:
            raise RegistryError(code, str(error.args[0])) from error
        except psycopg2.errors.UniqueViolation as error:
            if error.diag.constraint_name == FUNCTIONAL_ID_CONSTRAINT:
                raise ConcurrentRegistration() from error
            raise RegistryError(
                "CONFLICT",
                _("The request conflicts with a concurrent change: retry it."),
                409,
            ) from error
        except psycopg2.IntegrityError as error:
            raise RegistryError(
                "CONFLICT",
                _("The request conflicts with a concurrent change: retry it."),
                409,
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

    @api.model
    def _error_detail(self, error):
        if not error:
            return None
        return ErrorDetail(code=error.code, message=error.message)

    @api.model
    def _bulk_result(self, items):
        results = [
            BulkItemResult(
                index=item.index,
                functional_id=item.functional_id,
                status="error" if item.error else item.status,
                id=item.partner.id if item.partner and not item.error else None,
                error=self._error_detail(item.error),
            )
            for item in items
        ]
        counts = {status: 0 for status in ("created", "updated", "unchanged", "error")}
        for result in results:
            counts[result.status] += 1
        return BulkResult(
            created=counts["created"],
            updated=counts["updated"],
            unchanged=counts["unchanged"],
            errors=counts["error"],
            items=results,
        )
