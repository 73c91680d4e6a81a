import contextvars
import threading
import time
import uuid

from psycopg2.errors import SerializationFailure

from odoo import SUPERUSER_ID, api
from odoo.sql_db import db_connect
from odoo.tests import tagged
from odoo.tools import SQL

from ..schemas.registry import BulkRegistrantRequest
from .registry_common import RegistryApiCase


@tagged("post_install", "-at_install")
class TestConcurrentBulk(RegistryApiCase):
    """Two bulk requests registering the same functional IDs at the same time, on
    two real connections (committed, deleted again at the end)."""

    def setUp(self):
        super().setUp()
        self.db = db_connect(self.env.cr.dbname)
        self.prefix = f"T-CC-{uuid.uuid4().hex[:6].upper()}-"
        self.addCleanup(self._cleanup)
        self.request = BulkRegistrantRequest.model_validate(
            {"registrants": [self.person(f"{self.prefix}{n}") for n in range(3)]}
        )

    def _cleanup(self):
        with self.db.cursor() as cr:
            cr.execute(
                SQL(
                    "SELECT id FROM res_partner WHERE g2p_functional_id LIKE %s",
                    f"{self.prefix}%",
                )
            )
            ids = [row[0] for row in cr.fetchall()]
            cr.execute(
                SQL(
                    "DELETE FROM mail_message WHERE model = 'res.partner' "
                    "AND res_id = ANY(%s)",
                    ids,
                )
            )
            cr.execute(SQL("DELETE FROM res_partner WHERE id = ANY(%s)", ids))

    def bulk(self, cr):
        env = api.Environment(cr, SUPERUSER_ID, {})
        return env["g2p.registry.api.router.helper"].bulk_upsert(self.request)

    def test_the_later_request_is_retried_and_finds_the_registrants(self):
        outcome = {}
        with self.db.cursor() as first, self.db.cursor() as second:
            self.assertEqual(self.bulk(first).created, 3)  # not committed yet
            pid = second.connection.get_backend_pid()

            def run_second():
                try:
                    outcome["result"] = self.bulk(second)
                except SerializationFailure as error:
                    outcome["error"] = error

            # The schemas need this context (the extendable registry) in the thread.
            thread = threading.Thread(
                target=contextvars.copy_context().run, args=(run_second,)
            )
            thread.start()
            self._wait_until_blocked(first, pid)
            first.commit()
            thread.join(30)
            second.rollback()
        self.assertNotIn("result", outcome, "the second request must not succeed")
        self.assertIsInstance(outcome.get("error"), SerializationFailure)
        # What Odoo does with a serialization failure: run the request again.
        with self.db.cursor() as retry:
            result = self.bulk(retry)
            retry.commit()
        self.assertEqual((result.created, result.unchanged, result.errors), (0, 3, 0))
        with self.db.cursor() as cr:
            cr.execute(
                SQL(
                    "SELECT count(*) FROM res_partner WHERE g2p_functional_id LIKE %s",
                    f"{self.prefix}%",
                )
            )
            self.assertEqual(cr.fetchone()[0], 3, "never two registrants")

    def _wait_until_blocked(self, cr, pid):
        """Until the second connection waits for the first one's uncommitted rows."""
        for _attempt in range(300):
            cr.execute(
                SQL("SELECT wait_event_type FROM pg_stat_activity WHERE pid = %s", pid)
            )
            if cr.fetchone()[0] == "Lock":
                return
            time.sleep(0.05)
        raise AssertionError("the second request never waited for the first one")
