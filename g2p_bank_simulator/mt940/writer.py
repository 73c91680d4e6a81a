"""Write a statement in our MT940 dialect (see ``shared/contracts/mt940.md``).

One statement is one or more messages of at most ``max_message_chars`` characters;
the writer yields them one at a time, so a statement of 100,000 entries never sits in
memory twice. ``mt940-writer`` gives the transaction type code; everything it lacks
(CRLF, ``//`` bank references, ``:64:``, message splitting, the checks) is here.
"""

import dataclasses
import re
from collections.abc import Iterable, Iterator, Sequence
from datetime import date
from decimal import Decimal, InvalidOperation

from mt940_writer import TransactionType

from . import text

CRLF = "\r\n"
#: What each debit/credit mark does to the balance: C and RD bring money in.
MARK_SIGNS = {"C": 1, "RD": 1, "D": -1, "RC": -1}
#: Marks whose last `:86:` line is a reason that must stay last.
REVERSAL_MARKS = frozenset({"RC", "RD"})
#: The `:86:` line (0-based) the OpenG2P bridge reads as the beneficiary.
BENEFICIARY_LINE = 3
MAX_NUMBER = 99999  # 5n, for the statement and the sequence number
AMOUNT_CHARS = 15  # 15d, decimal comma included
MAX_DECIMALS = 4
TYPE_CODE = TransactionType.transfer.value  # "NTRF": N + the SWIFT code TRF

_END = object()
# `mt-940` reads a `:86:` starting like "123?45" as a structured German narrative and
# drops the plain text, so such a start is defused (see `_narrative`).
_STRUCTURED_86 = re.compile(r"\d{3}\?\d{2}")


@dataclasses.dataclass(frozen=True, slots=True)
class StatementEntry:
    """One `:61:` entry and its `:86:` narrative."""

    value_date: date
    entry_date: date
    mark: str  # "C", "D", "RC", "RD"
    amount: Decimal  # > 0; the sign is the mark
    customer_reference: str  # written <= 16 after sanitising; "NONREF" if empty
    bank_reference: str  # <= 16, required
    # Up to 6 lines, positions kept: the bridge reads index 3 as the beneficiary and the
    # last line of an RD as the reversal reason.
    narrative: Sequence[str] = ()


@dataclasses.dataclass(frozen=True, slots=True)
class StatementHeader:
    """What every message of one statement repeats, and its balances."""

    reference: str  # :20:
    account: str  # :25:
    number: int  # :28C: statement number
    currency: str  # ISO 4217 code
    decimals: int  # the currency's decimals
    opening_balance: Decimal  # signed; the previous statement's closing balance
    opening_date: date
    closing_date: date
    available_balance: Decimal  # signed, for :64:
    available_date: date


class Mt940Writer:
    """Writes one statement as a stream of MT940 messages.

    After :meth:`messages` is exhausted, ``message_count``, ``entry_count`` and
    ``closing_balance`` (signed ``Decimal``) describe what was written. Invalid input
    raises ``ValueError`` (``TypeError`` for a float amount) naming the entry; the
    caller must then discard what it has received so far.
    """

    def __init__(self, header, max_message_chars=2000):
        self.header = header
        self.max_message_chars = max_message_chars
        self.message_count = 0
        self.entry_count = 0
        self.closing_balance = header.opening_balance
        self._dates = {}
        self._check_header(header)
        self._quantum = Decimal(1).scaleb(-header.decimals)
        reference = text.reference(header.reference, limit=text.NARRATIVE_CHARS)
        if not reference or len(reference) > text.REFERENCE_CHARS:
            raise ValueError(
                f"The statement reference {header.reference!r} must have 1 to "
                f"{text.REFERENCE_CHARS} characters after sanitising, "
                f"not {len(reference)}."
            )
        account = text.sanitize(header.account).strip()
        if not account or len(account) > text.ACCOUNT_CHARS:
            raise ValueError(
                f"The account identification {header.account!r} must have 1 to "
                f"{text.ACCOUNT_CHARS} characters."
            )
        self._head = f":20:{reference}{CRLF}:25:{account}{CRLF}:28C:{header.number}/"
        self._opening = self._balance(
            header.opening_balance, header.opening_date, "opening balance"
        )
        available = self._balance(
            header.available_balance, header.available_date, "available balance"
        )
        self._available = f":64:{available}{CRLF}"
        self._date(header.closing_date)  # refuse a bad date now, not mid-stream

    @staticmethod
    def _check_header(header):
        if not 1 <= header.number <= MAX_NUMBER:
            raise ValueError(
                f"The statement number must be between 1 and {MAX_NUMBER}, "
                f"not {header.number}."
            )
        currency = header.currency
        if not (
            len(currency) == 3
            and currency.isascii()
            and currency.isalpha()
            and currency.isupper()
        ):
            raise ValueError(
                f"The currency must be an ISO 4217 code such as KES, not {currency!r}."
            )
        if not 0 <= header.decimals <= MAX_DECIMALS:
            raise ValueError(
                f"The currency {currency} cannot have {header.decimals} decimals."
            )

    def messages(self, entries: Iterable[StatementEntry]) -> Iterator[str]:
        """Yield each complete message (CRLF lines, ending with the '-' line). Streams:
        holds at most one message in memory besides the caller's iterator."""
        self.message_count = self.entry_count = 0
        limit = self.max_message_chars
        balance = self.header.opening_balance
        sequence = 1
        parts = [self._message_head(sequence, balance)]
        size = len(parts[0])
        remaining = iter(entries)
        upcoming = next(remaining, _END)
        while upcoming is not _END:
            # One entry of look-ahead tells whether this one may end the statement,
            # and so whether the message would close with :62F: and :64:.
            entry, upcoming = upcoming, next(remaining, _END)
            self.entry_count += 1
            block, after = self._entry(entry, balance)
            tail = self._tail_size(after, last=upcoming is _END)
            if size + len(block) + tail > limit and len(parts) > 1:
                yield self._message(parts, balance, last=False)
                sequence += 1
                parts = [self._message_head(sequence, balance)]
                size = len(parts[0])
            if size + len(block) + tail > limit:
                raise ValueError(
                    f"Entry {self.entry_count} ({entry.bank_reference}) does not fit "
                    f"in a message of {limit} characters."
                )
            parts.append(block)
            size += len(block)
            balance = after
        yield self._message(parts, balance, last=True)

    # Parts of a message -------------------------------------------------------------

    def _message_head(self, sequence, balance):
        if sequence > MAX_NUMBER:
            raise ValueError(
                f"The statement needs more than {MAX_NUMBER} messages: raise the "
                f"message size or split the statement."
            )
        if sequence == 1:
            return f"{self._head}1{CRLF}:60F:{self._opening}{CRLF}"
        # A part boundary has no date of its own: :62M: and :60M: carry the closing
        # date of the statement.
        opening = self._balance(balance, self.header.closing_date, "balance")
        return f"{self._head}{sequence}{CRLF}:60M:{opening}{CRLF}"

    def _message(self, parts, balance, last):
        closing = self._balance(balance, self.header.closing_date, "closing balance")
        if last:
            parts.append(f":62F:{closing}{CRLF}{self._available}-{CRLF}")
        else:
            parts.append(f":62M:{closing}{CRLF}-{CRLF}")
        message = "".join(parts)
        if len(message) > self.max_message_chars:
            raise ValueError(
                f"A message of this statement needs {len(message)} characters, more "
                f"than the maximum of {self.max_message_chars}."
            )
        self.message_count += 1
        self.closing_balance = balance
        return message

    def _tail_size(self, balance, last):
        """Length of the closing lines of a message that would end at ``balance``."""
        closing = len(self._balance(balance, self.header.closing_date, "balance"))
        size = len(":62F:") + closing + len(CRLF) + len("-" + CRLF)
        return size + len(self._available) if last else size

    def _entry(self, entry, balance):
        """Return the `:61:` and `:86:` lines of ``entry`` and the balance after it."""
        sign = MARK_SIGNS.get(entry.mark)
        if sign is None:
            raise ValueError(
                f"Entry {self.entry_count} has the mark {entry.mark!r}; "
                f"it must be one of C, D, RC, RD."
            )
        amount = entry.amount
        if isinstance(amount, float):
            raise TypeError(
                f"Entry {self.entry_count}: the amount must be a Decimal, not a float."
            )
        if not amount > 0:
            raise ValueError(
                f"Entry {self.entry_count}: the amount must be positive (the sign is "
                f"the mark), not {amount}."
            )
        amount_text = self._amount(amount, f"Entry {self.entry_count}")
        full_reference = text.reference(
            entry.customer_reference, limit=text.NARRATIVE_CHARS
        )
        customer_reference = full_reference or text.NO_REFERENCE
        carried = None
        if len(full_reference) > text.REFERENCE_CHARS:
            customer_reference = text.reference(full_reference)
            carried = full_reference
        bank_reference = text.reference(
            entry.bank_reference, limit=text.NARRATIVE_CHARS
        )
        if not bank_reference or len(bank_reference) > text.REFERENCE_CHARS:
            raise ValueError(
                f"Entry {self.entry_count}: the bank reference "
                f"{entry.bank_reference!r} must have 1 to {text.REFERENCE_CHARS} "
                f"characters."
            )
        narrative = CRLF.join(self._narrative(entry, carried))
        block = (
            f":61:{self._date(entry.value_date)}{self._date(entry.entry_date)[2:]}"
            f"{entry.mark}{amount_text}{TYPE_CODE}{customer_reference}//"
            f"{bank_reference}{CRLF}:86:{narrative}{CRLF}"
        )
        return block, (balance + amount if sign > 0 else balance - amount)

    def _narrative(self, entry, carried_reference):
        """Return the `:86:` lines of ``entry``, every line at its given position."""
        lines = [text.narrative_line(line) if line else "" for line in entry.narrative]
        while lines and not lines[-1]:
            lines.pop()
        if not lines and entry.mark == "RD":
            raise ValueError(
                f"Entry {self.entry_count} ({entry.bank_reference}) is a reversal "
                f"and must carry its reason as the last narrative line."
            )
        reversal = entry.mark in REVERSAL_MARKS
        if carried_reference and not any(carried_reference in x for x in lines):
            lines = _carry(lines, carried_reference, reversal)
        if len(lines) > text.NARRATIVE_LINES:
            # Never a failure: one entry's text would stop every later statement of
            # its account (the entry stays unreported and comes back each time).
            lines = _fold(lines, carried_reference, reversal)
        if not lines:
            return [text.NO_NARRATIVE]
        lines = [line or text.EMPTY_LINE for line in lines]
        if lines[0][0].isdigit() and _STRUCTURED_86.match("".join(lines)[:6]):
            # The three digits run up to the first "?": make it a plain ".".
            index = next(i for i, line in enumerate(lines) if "?" in line)
            lines[index] = lines[index].replace("?", text.REPLACEMENT, 1)
        return lines

    # Values -------------------------------------------------------------------------

    def _amount(self, amount, what):
        """Return ``amount`` (>= 0) as SWIFT 15d: digits, a comma, the decimals."""
        if isinstance(amount, int):
            amount = Decimal(amount)
        try:
            exact = amount.quantize(self._quantum)
        except (AttributeError, InvalidOperation):
            raise ValueError(f"{what}: {amount!r} is not a usable amount.") from None
        if exact != amount:
            raise ValueError(
                f"{what}: the amount {amount} has more decimals than "
                f"{self.header.currency} allows ({self.header.decimals})."
            )
        digits = f"{exact:f}"
        written = digits.replace(".", ",") if self.header.decimals else digits + ","
        if len(written) > AMOUNT_CHARS:
            raise ValueError(
                f"{what}: the amount {amount} is too large for MT940 "
                f"({AMOUNT_CHARS} characters at most)."
            )
        return written

    def _balance(self, amount, day, what):
        """Return a balance field: mark, YYMMDD, currency, amount; zero is a credit."""
        if isinstance(amount, float):
            raise TypeError(f"The {what} must be a Decimal, not a float.")
        mark = "D" if amount < 0 else "C"
        written = self._amount(abs(amount), f"The {what}")
        return f"{mark}{self._date(day)}{self.header.currency}{written}"

    def _date(self, day):
        """Return ``day`` as YYMMDD; cached, as a statement has few distinct days."""
        written = self._dates.get(day)
        if written is None:
            if not 2000 <= day.year <= 2099:
                # Two-digit years are read back as 20YY.
                raise ValueError(f"The date {day} cannot be written in MT940.")
            written = self._dates[day] = day.strftime("%y%m%d")
        return written


def _carry(lines, reference, reversal):
    """Put a reference too long for `:61:` into the narrative (contract rule).

    It takes the first free line after the beneficiary line, so that the beneficiary
    stays at its index and a reversal reason stays last.
    """
    head, tail = (lines[:-1], lines[-1:]) if reversal and lines else (lines, [])
    head = head + [""] * (BENEFICIARY_LINE + 1 - len(head))
    for index in range(BENEFICIARY_LINE + 1, len(head)):
        if not head[index]:
            head[index] = reference
            break
    else:
        head.append(reference)
    return head + tail


def _fold(lines, reference, reversal):
    """Fit more than 6 `:86:` lines into 6, keeping the lines the contract places.

    Kept as they are: the lines up to the beneficiary line (index 3, so that it stays
    at its index), a carried reference (whole), the reason of a reversal (last). The
    other lines after the beneficiary are joined with spaces into the lines left,
    cut to 65 characters (none left: a reversal with a carried reference, whose
    free text its debit entry carries too).
    """
    head = lines[: BENEFICIARY_LINE + 1]
    tail = lines[-1:] if reversal else []
    middle = lines[len(head) : len(lines) - len(tail)]
    # The line that carries the reference (the first, if several contain it).
    at = next(
        (i for i, line in enumerate(middle) if reference and reference in line), None
    )
    kept = [] if at is None else [middle[at]]
    others = middle if at is None else middle[:at] + middle[at + 1 :]
    room = text.NARRATIVE_LINES - len(head) - len(kept) - len(tail)
    joined = " ".join(line for line in others if line)
    folded = [text.narrative_line(joined)] if room > 0 and joined else []
    return head + folded + kept + tail


def write_statement(header, entries, **kwargs):
    """Return the whole statement text and the writer (for its counts and balance)."""
    writer = Mt940Writer(header, **kwargs)
    return "".join(writer.messages(entries)), writer
