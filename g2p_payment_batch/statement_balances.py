"""The balance arithmetic of an MT940 text, followed while `mt-940` parses it.

Every message must add up: its opening balance (`:60F:`, or `:60M:` continuing the
message before), plus or minus each entry, is its closing balance (`:62M:` or
`:62F:`); a `:60M:` opens with the `:62M:` of the message before
(``shared/contracts/mt940.md``). The entries are those the parser reads, so a
text that adds up for this check is the text the reconciliation applies.
"""

#: What each mark does to the balance: C and RD bring money in (the contract).
MARK_SIGNS = {"C": 1, "RD": 1, "D": -1, "RC": -1}
OPENINGS = ("opening_balance", "final_opening_balance", "intermediate_opening_balance")
CLOSINGS = ("closing_balance", "final_closing_balance", "intermediate_closing_balance")


class UnbalancedStatement(ValueError):
    """The text's balances do not add up; the message says where, for people."""


class BalanceCheck:
    """`mt-940` post-processors (see ``processors``) that raise
    ``UnbalancedStatement`` as soon as a message does not add up; call
    ``finish()`` after parsing."""

    def __init__(self, env):
        self.env = env
        self.balance = None  # the running balance of the open message
        self.currency = None
        self.continued = None  # the :62M: closing of the message before

    def processors(self):
        checks = {f"post_{slug}": [self._opening] for slug in OPENINGS}
        checks.update({f"post_{slug}": [self._closing] for slug in CLOSINGS})
        checks["post_statement"] = [self._entry]
        return checks

    def _where(self, transactions):
        data = transactions.data
        return self.env._(
            "The statement %(ref)s (account %(acc)s, number %(num)s/%(seq)s)",
            ref=data.get("transaction_reference") or "?",
            acc=data.get("account_identification") or "?",
            num=data.get("statement_number") or "?",
            seq=data.get("sequence_number") or "?",
        )

    def _money(self, amount):
        return f"{amount:,f} {self.currency}"

    def _opening(self, transactions, tag, tag_dict, result):
        balance = result[tag.slug]
        amount = balance.amount.amount
        if self.balance is not None:
            raise UnbalancedStatement(
                self.env._(
                    "%(where)s has a message without closing balance.",
                    where=self._where(transactions),
                )
            )
        if (
            tag.slug == "intermediate_opening_balance"
            and self.continued is not None
            and (amount, balance.amount.currency) != self.continued
        ):
            raise UnbalancedStatement(
                self.env._(
                    "%(where)s opens a message with %(o)s, but the message before "
                    "closed with %(c)s.",
                    where=self._where(transactions),
                    o=f"{amount:,f} {balance.amount.currency}",
                    c=f"{self.continued[0]:,f} {self.continued[1]}",
                )
            )
        self.balance, self.currency = amount, balance.amount.currency
        return result

    def _entry(self, transactions, tag, tag_dict, result):
        if self.balance is None:
            raise UnbalancedStatement(
                self.env._(
                    "%(where)s has an entry outside a message with an opening balance.",
                    where=self._where(transactions),
                )
            )
        self.balance += MARK_SIGNS[result["status"]] * abs(result["amount"].amount)
        return result

    def _closing(self, transactions, tag, tag_dict, result):
        balance = result[tag.slug]
        amount, currency = balance.amount.amount, balance.amount.currency
        if self.balance is None:
            raise UnbalancedStatement(
                self.env._(
                    "%(where)s has a closing balance without opening balance.",
                    where=self._where(transactions),
                )
            )
        if (amount, currency) != (self.balance, self.currency):
            raise UnbalancedStatement(
                self.env._(
                    "%(where)s does not add up: with its entries, its opening "
                    "balance comes to %(computed)s, but it states a closing balance "
                    "of %(stated)s.",
                    where=self._where(transactions),
                    computed=self._money(self.balance),
                    stated=f"{amount:,f} {currency}",
                )
            )
        intermediate = tag.slug == "intermediate_closing_balance"
        self.continued = (amount, currency) if intermediate else None
        self.balance = None
        return result

    def finish(self, transactions):
        if self.balance is not None:
            raise UnbalancedStatement(
                self.env._(
                    "%(where)s has a message without closing balance.",
                    where=self._where(transactions),
                )
            )
