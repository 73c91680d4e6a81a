import hashlib
import logging
import re
from decimal import Decimal, InvalidOperation

from odoo import api, models
from odoo.tools import SQL

#: Reasons the OpenG2P bridge understands; other-bank failures pick one of them.
OTHER_BANK_REASONS = (
    "ACCOUNT_NOT_FOUND",
    "ACCOUNT_CLOSED",
    "ACCOUNT_DORMANT",
    "ACCOUNT_DECEASED",
)
PARAM_PREFIX = "g2p_bank_simulator."

_logger = logging.getLogger(__name__)
#: What a clearing account's name drops from a bank code or a wallet provider.
NOT_ALPHANUMERIC = re.compile(r"[\W_]+")


def clearing_number(code, account_type):
    """The clearing account of another bank or wallet provider: ``CLR-`` and its
    code in capitals without spaces or punctuation, so that ``M-Pesa``, ``m-pesa``
    and ``MPESA`` are one provider (and one account) whatever the sender's
    spelling. Without a code, the account type (``CLR-MOBILE_WALLET``)."""
    return f"CLR-{NOT_ALPHANUMERIC.sub('', code or '').upper() or account_type}"


class G2PSimFailureSimulator(models.AbstractModel):
    """Decides, deterministically, the outcome of each payment of a batch.

    Same settings and same payment reference give the same outcome, so that re-running a
    batch fails the same payments.
    """

    _name = "g2p.sim.failure.simulator"
    _description = "Simulated bank failure simulation"

    @api.model
    def _settings(self):
        get = self.env["ir.config_parameter"].sudo().get_param
        missing = get(PARAM_PREFIX + "nonexistent_accounts") or ""
        return {
            "bank_code": (get(PARAM_PREFIX + "bank_code") or "SIMBANK").strip(),
            "failure_rate": self._failure_rate(get(PARAM_PREFIX + "failure_rate")),
            "seed": get(PARAM_PREFIX + "seed") or "0",
            "nonexistent": {
                line.strip() for line in missing.splitlines() if line.strip()
            },
        }

    @api.model
    def _failure_rate(self, stored):
        """The stored failure rate (percent), read leniently: the settings screen
        refuses a bad one, but a system parameter edited by hand may hold anything;
        batches then go on with the nearest valid rate, and the log says so."""
        try:
            rate = Decimal(stored or "0")
        except InvalidOperation:
            rate = Decimal("NaN")
        used = min(max(rate, Decimal(0)), Decimal(100)) if rate.is_finite() else 0
        if used != rate:
            _logger.warning(
                "System parameter %sfailure_rate is %r, not a percentage from 0 to "
                "100: using %s.",
                PARAM_PREFIX,
                stored,
                used,
            )
        return Decimal(used)

    @api.model
    def _draw(self, seed, reference, salt):
        """A number in [0, 1) from the seed and the reference: stable across runs."""
        digest = hashlib.sha256(f"{seed}:{salt}:{reference}".encode()).digest()
        return Decimal(int.from_bytes(digest[:8], "big")) / Decimal(2**64)

    @api.model
    def _decide(self, payments):
        """Return ``{payment_id: (reason or None, credit account number, kind)}``.

        ``payments``: dicts with id, reference, account, account_type, bank_code,
        provider (the wallet provider) and currency_id.
        ``kind`` is "customer" for an account of this bank, "clearing" otherwise.
        """
        settings = self._settings()
        ours = [
            p
            for p in payments
            if p["account_type"] == "BANK_ACCOUNT"
            and p["bank_code"] == settings["bank_code"]
        ]
        self.env.cr.execute(
            SQL(
                "SELECT account_number, state, currency_id FROM g2p_sim_account "
                "WHERE account_number = ANY(%s) AND kind = 'customer'",
                list({p["account"] for p in ours}),
            )
        )
        known = {number: (state, cur) for number, state, cur in self.env.cr.fetchall()}
        rate = settings["failure_rate"] / 100
        result = {}
        for p in payments:
            if p["account"] in settings["nonexistent"]:
                result[p["id"]] = ("ACCOUNT_NOT_FOUND", None, None)
            elif p["account_type"] == "BANK_ACCOUNT" and (
                p["bank_code"] == settings["bank_code"]
            ):
                state, currency_id = known.get(p["account"], ("active", None))
                reason = None if state == "active" else f"ACCOUNT_{state.upper()}"
                if not reason and currency_id not in (None, p["currency_id"]):
                    reason = "CURRENCY_MISMATCH"
                result[p["id"]] = (reason, p["account"], "customer")
            elif rate and self._draw(settings["seed"], p["reference"], "fail") < rate:
                pick = self._draw(settings["seed"], p["reference"], "reason")
                reason = OTHER_BANK_REASONS[int(pick * len(OTHER_BANK_REASONS))]
                result[p["id"]] = (reason, None, None)
            else:
                code = (
                    p["bank_code"]
                    if p["account_type"] == "BANK_ACCOUNT"
                    else p["provider"]
                )
                number = clearing_number(code, p["account_type"])
                result[p["id"]] = (None, number, "clearing")
        return result
