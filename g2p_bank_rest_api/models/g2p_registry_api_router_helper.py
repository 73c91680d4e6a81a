import re

from fastapi import HTTPException

from odoo import _, api, models
from odoo.osv import expression

from odoo.addons.g2p_bank.tools import account_numbers

from ..registry_errors import RegistryError
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


class G2PRegistryApiRouterHelper(models.AbstractModel):
    """The use cases of the registry app; every write goes through
    ``g2p.registry.upsert``."""

    _name = "g2p.registry.api.router.helper"
    _description = "Registry API use cases"

    def _engine(self):
        return self.env["g2p.registry.upsert"]

    def get_registrant(self, registrant_id):
        return RegistrantOut.from_res_partner(self._registrant(registrant_id))

    def get_by_functional_id(self, functional_id):
        partner = self._engine()._by_functional_id([functional_id]).get(functional_id)
        if not partner:
            raise self._engine()._not_found(functional_id).as_http()
        return RegistrantOut.from_res_partner(partner)

    def search_registrants(self, filters, limit, offset):
        domain = [("is_registrant", "=", True)]
        if filters.name:
            # Part of the name, literally: % and _ are not wildcards here.
            escaped = re.sub(r"([\\%_])", r"\\\1", filters.name)
            domain.append(("name", "=ilike", f"%{escaped}%"))
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
        partners = self._engine()._by_functional_id(functional_ids)
        found = self.env["res.partner"].union(*partners.values())
        accounts = found._g2p_payment_accounts()
        items = []
        for fid in functional_ids:
            partner = partners.get(fid)
            account = accounts.get(partner.id) if partner else None
            if not partner:
                error = self._engine()._not_found(fid)
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

    def create_registrant(self, data):
        item = self._engine()._upsert([data], mode="create")[0]
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
        item = self._engine()._upsert([data], mode="update", partners=[partner])[0]
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
            with self._engine()._errors_as("INVALID_ACCOUNT"):
                account.write({"active": False})

    def bulk_upsert(self, request):
        """Create or update up to 1,000 registrants by functional ID."""
        return self._bulk_result(
            self._engine()._upsert(request.registrants, mode="upsert")
        )

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
        items = self._engine()._upsert(
            datas,
            mode="update",
            check=lambda item: self._mapping_error(item, replace),
        )
        return self._bulk_result(items)

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
        if (
            not replace
            and current
            and not self.env["g2p.bank.account.upsert"]._match(current, vals)
        ):
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
