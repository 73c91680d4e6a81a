"""MT940 statement writer of the simulated sponsor bank (plain Python, no Odoo).

Callers import it as ``odoo.addons.g2p_bank_simulator.mt940``::

    text, writer = write_statement(header, entries)

or stream the messages with ``Mt940Writer(header).messages(entries)``.

The dialect is ``shared/contracts/mt940.md``. Where it leaves a choice, the writer:

- replaces the first character of a `:86:` line starting with ``:`` or ``-`` by ``.``
  (a leading space would be stripped by the parsers on the first line only);
- writes ``.`` for an empty narrative line that a later line follows, drops trailing
  empty lines, and writes ``:86:NONREF`` for an entry without narrative;
- refuses an RD without narrative: its last line is the reversal reason;
- cuts a customer reference longer than 16 characters in `:61:` and carries it whole
  in the first free `:86:` line after the beneficiary line (index 3), before the
  reason of a reversal; refuses a bank reference longer than 16 (cutting it could
  make two entries share one) and a `:20:` longer than 16 or `:25:` longer than 35;
- folds a narrative of more than 6 lines into 6 (see ``writer._fold``) instead of
  refusing it: the lines up to the beneficiary, the carried reference and a reversal's
  reason stay, the other lines are joined;
- dates `:62M:`/`:60M:` with the statement's closing date;
- writes amounts of a 0-decimal currency with the mandatory comma (``1500,``).
"""

from .text import sanitize
from .writer import (
    MAX_NUMBER,
    Mt940Writer,
    StatementEntry,
    StatementHeader,
    write_statement,
)

__all__ = [
    "MAX_NUMBER",
    "Mt940Writer",
    "StatementEntry",
    "StatementHeader",
    "sanitize",
    "write_statement",
]
