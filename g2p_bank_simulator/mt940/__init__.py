"""MT940 statement writer of the simulated sponsor bank (plain Python, no Odoo).

Callers import it as ``odoo.addons.g2p_bank_simulator.mt940``::

    text, writer = write_statement(header, entries)

or stream the messages with ``Mt940Writer(header).messages(entries)``.
"""

from .text import sanitize
from .writer import (
    Mt940Writer,
    StatementEntry,
    StatementHeader,
    write_statement,
)

__all__ = [
    "Mt940Writer",
    "StatementEntry",
    "StatementHeader",
    "sanitize",
    "write_statement",
]
