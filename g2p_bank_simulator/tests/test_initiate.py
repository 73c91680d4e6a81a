from decimal import Decimal

from odoo.addons.queue_job.tests.common import trap_jobs

from .common import SimBankCase


class TestInitiatePayment(SimBankCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.block = cls.env["g2p.sim.bank"].block_funds("T-PROG-1", "EUR", "500.00")

    def test_one_batch_one_job(self):
        payments = [
            self._payment("P-1", "100.00", self.block),
            self._payment("P-2", Decimal("50.25"), self.block, "T-BEN-2"),
            self._payment("P-3", 10, self.block, "T-BEN-3"),
        ]
        with trap_jobs() as trap:
            batch = self.bank.initiate_payment(payments)
            trap.assert_jobs_count(1)
            trap.assert_enqueued_job(
                self.bank.process_batch,
                args=(batch,),
                properties={
                    "channel": "root.g2p_bank_simulator",
                    "identity_key": f"g2p_sim_process_batch_{batch.id}_0",
                },
            )
        self.assertEqual(batch.state, "pending")
        self.assertEqual(batch.payment_count, 3)
        self.assertEqual(Decimal(str(batch.amount_total)), Decimal("160.25"))
        self.assertEqual(
            batch.payment_ids.mapped("payment_reference_number"), ["P-3", "P-2", "P-1"]
        )
        self.assertEqual(set(batch.payment_ids.mapped("status")), {"pending"})
        p1 = batch.payment_ids.filtered(lambda p: p.payment_reference_number == "P-1")
        self.assertEqual(p1.narrative_4, "BEN-T-BEN-1")
        self.assertEqual(p1.beneficiary_bank_code, "TESTBANK")
        self.assertEqual(p1.account_id, self.program)
        # Recorded, not executed: the money is reserved on the block, still blocked.
        self.assertEqual(
            self._block_amounts(self.block),
            (Decimal(0), Decimal("160.25"), Decimal("500.00"), "active"),
        )
        self.assertEqual(self._amounts(self.program)[1], Decimal("500.00"))
        self.assertInvariants()

    def test_batch_has_no_creation_note_nor_followers(self):
        """A batch's chatter starts with its first state change; the API's technical
        user does not follow the batches it sends."""
        bank = self.bank.with_context(tracking_disable=False)
        with trap_jobs():
            batch = bank.initiate_payment([self._payment("N-1", 1, self.block)])
        self.assertFalse(batch.message_follower_ids)
        self.assertFalse(batch.message_ids)

    def test_texts_are_recorded_exactly(self):
        """Payments are written with COPY: its separators and escapes in a text are
        data, not format. (Control characters, tabs and line breaks are refused.)"""
        texts = {
            "beneficiary_name": "Comma, back\\slash \\N",
            "narrative_1": "\\.",  # \. alone on a line ends COPY's data
            "narrative_2": "\\t not a tab",
            "narrative_3": 'He said "pay", then, left "',
            "narrative_4": "\\r\\n not a line break",
            "narrative_6": "naïve ✓ 日本",
        }
        payment = self._payment("P-TEXT", "1.00", self.block)
        payment.update(texts, narrative_5="   ", beneficiary_phone_no=254700000001)
        batch = self.bank.initiate_payment([payment])
        recorded = batch.payment_ids.read(list(texts))[0]
        self.assertEqual({name: recorded[name] for name in texts}, texts)
        self.assertIs(batch.payment_ids.narrative_5, False, "a blank text is NULL")
        self.assertEqual(batch.payment_ids.beneficiary_phone_no, "254700000001")

    def test_unique_references_have_one_index(self):
        """Each unique reference is indexed by its constraint alone: a second index on
        the same column would only slow the inserts (10,000 payments at a time)."""
        columns = {
            "g2p_sim_account": "account_number",
            "g2p_sim_fund_block": "reference",
            "g2p_sim_payment_batch": "name",
            "g2p_sim_payment": "payment_reference_number",
            "g2p_sim_statement": "name",
        }
        for table, column in columns.items():
            self.env.cr.execute(
                """SELECT count(*) FROM pg_index i
                     JOIN pg_attribute a
                       ON a.attrelid = i.indrelid AND a.attnum = i.indkey[0]
                    WHERE i.indrelid = %s::regclass AND i.indnatts = 1
                      AND a.attname = %s""",
                [table, column],
            )
            with self.subTest(table=table):
                self.assertEqual(self.env.cr.fetchone()[0], 1)

    def test_each_call_is_a_new_batch(self):
        with trap_jobs():
            first = self.bank.initiate_payment([self._payment("A-1", 1, self.block)])
            second = self.bank.initiate_payment([self._payment("A-2", 1, self.block)])
        self.assertNotEqual(first.name, second.name)

    def test_full_replay_returns_the_batch(self):
        payments = [
            self._payment("F-1", "100.00", self.block),
            self._payment("F-2", "20.00", self.block, "T-BEN-2"),
        ]
        with trap_jobs() as trap:
            batch = self.bank.initiate_payment(payments)
            before = self._snapshot()
            replay = self.bank.initiate_payment(
                [dict(p, payment_amount="100") for p in payments[:1]] + payments[1:]
            )
            self.assertEqual(replay, batch)
            self.assertEqual(self._snapshot(), before)
            trap.assert_jobs_count(1)
        # After processing, a replay still answers with the same batch.
        self.bank.process_batch(batch)
        with trap_jobs() as trap:
            self.assertEqual(
                self.bank.initiate_payment(list(reversed(payments))), batch
            )
            trap.assert_jobs_count(0)
        self.assertInvariants()

    def test_mixed_or_changed_replay_is_rejected(self):
        with trap_jobs():
            self.bank.initiate_payment([self._payment("M-1", "100.00", self.block)])
        error = self.assertBankError(
            "DUPLICATE_REFERENCE",
            self.bank.initiate_payment,
            [
                self._payment("M-1", "100.00", self.block),
                self._payment("M-2", "10.00", self.block),
            ],
        )
        self.assertIn("M-1", str(error))
        # The known reference after a new one: found when the payments are inserted;
        # nothing of the request stays (no batch, no reservation on the block).
        before = self._snapshot()
        error = self.assertBankError(
            "DUPLICATE_REFERENCE",
            self.bank.initiate_payment,
            [
                self._payment("M-3", "10.00", self.block),
                self._payment("M-1", "100.00", self.block),
            ],
        )
        self.assertIn("M-1", str(error))
        self.assertEqual(self._snapshot(), before)
        self.assertFalse(
            self.env["g2p.sim.payment"].search(
                [("payment_reference_number", "=", "M-3")]
            )
        )
        self.assertBankError(
            "DUPLICATE_REFERENCE",
            self.bank.initiate_payment,
            [self._payment("M-1", "100.01", self.block)],
        )
        self.assertBankError(
            "DUPLICATE_REFERENCE",
            self.bank.initiate_payment,
            [self._payment("M-1", "100.00", self.block, "T-OTHER")],
        )
        self.assertInvariants()

    def test_replay_across_batches_is_rejected(self):
        with trap_jobs():
            self.bank.initiate_payment([self._payment("X-1", 1, self.block)])
            self.bank.initiate_payment([self._payment("X-2", 1, self.block)])
        self.assertBankError(
            "DUPLICATE_REFERENCE",
            self.bank.initiate_payment,
            [self._payment("X-1", 1, self.block), self._payment("X-2", 1, self.block)],
        )

    def test_block_cannot_be_overcommitted(self):
        with trap_jobs():
            self.bank.initiate_payment([self._payment("O-1", "300.00", self.block)])
        # 200 left unreserved: 200.01 does not fit, even split over payments.
        self.assertBankError(
            "BLOCK_EXCEEDED",
            self.bank.initiate_payment,
            [
                self._payment("O-2", "100.00", self.block),
                self._payment("O-3", "100.01", self.block),
            ],
        )
        with trap_jobs():
            self.bank.initiate_payment([self._payment("O-4", "200.00", self.block)])
        self.assertEqual(
            self._block_amounts(self.block)[1:3], (Decimal(500), Decimal(500))
        )
        self.assertInvariants()

    def test_repeated_and_mixed_amounts_are_recorded_exactly(self):
        amounts = [1, "1", "1.50", Decimal("1.5"), 1, "2.25", "1.50", 3.75]
        batch = self.bank.initiate_payment(
            [
                self._payment(f"AM-{index}", amount, self.block, f"T-BEN-{index}")
                for index, amount in enumerate(amounts)
            ]
        )
        self.assertEqual(
            batch.payment_ids.sorted("payment_reference_number").mapped(
                "payment_amount"
            ),
            [1.0, 1.0, 1.5, 1.5, 1.0, 2.25, 1.5, 3.75],
        )
        self.assertEqual(batch.amount_total, 13.5)
        self.assertInvariants()

    def test_validation_errors_write_nothing(self):
        good = self._payment("V-0", 1, self.block)
        other = self._open("T-PROG-2", "100")
        other_block = self.bank.block_funds("T-PROG-2", "EUR", 50)
        # Dormant: an account holding money cannot be closed.
        self._open("T-DORMANT", "100")
        dormant_block = self.bank.block_funds("T-DORMANT", "EUR", 50)
        self.env["g2p.sim.account"].search(
            [("account_number", "=", "T-DORMANT")]
        ).state = "dormant"
        used = self.bank.block_funds("T-PROG-1", "EUR", 10)
        self.bank.release_block(used.reference)
        cases = {
            "INVALID_REQUEST": [
                [],
                "not a list",
                [good, "x"],
                [good, dict(good)],
                [dict(good, beneficiary_account_type="CASH")],
                [dict(good, payment_reference_number="")],
                [{k: v for k, v in good.items() if k != "beneficiary_account"}],
                [{k: v for k, v in good.items() if k != "payment_amount"}],
                [dict(good, payment_reference_number="R" * 65)],
                [dict(good, narrative_1=["not", "text"])],
                [dict(good, narrative_1="N" * 256)],
                [dict(good, beneficiary_account="   ")],
                [dict(good, beneficiary_account=12345)],
            ],
            "INVALID_AMOUNT": [
                [dict(good, payment_amount=0)],
                [dict(good, payment_amount="-1")],
                [dict(good, payment_amount="1.001")],
                [dict(good, payment_amount="abc")],
                [dict(good, payment_amount="1E+30")],
                # Not the valid 1 before it (a batch's amounts are checked once each).
                [dict(good, payment_amount=True)],
                [dict(good, payment_amount=[1])],
                [dict(good, payment_amount=Decimal("sNaN"))],
                [
                    dict(good, payment_amount="1"),
                    dict(good, payment_reference_number="V-00", payment_amount="1.001"),
                ],
            ],
            "ACCOUNT_NOT_FOUND": [[dict(good, remitting_account="NOPE")]],
            "ACCOUNT_NOT_ACTIVE": [[self._payment("V-1", 1, dormant_block)]],
            "CURRENCY_MISMATCH": [[dict(good, remitting_account_currency="USD")]],
            "BLOCK_NOT_FOUND": [
                [dict(good, funds_blocked_reference_number="NOPE")],
                # A block of another account.
                [dict(good, funds_blocked_reference_number=other_block.reference)],
            ],
            "BLOCK_NOT_ACTIVE": [[self._payment("V-2", 1, used)]],
            "BLOCK_EXCEEDED": [[dict(good, payment_amount="500.01")]],
        }
        self.assertTrue(other)
        for code, requests in cases.items():
            for request in requests:
                with self.subTest(code=code, request=str(request)[:80]):
                    # A valid payment first: an error in any one writes nothing.
                    self.assertBankError(
                        code,
                        self.bank.initiate_payment,
                        request
                        if not isinstance(request, list) or not request
                        else [self._payment("V-OK", 1, self.block), *request],
                    )
        self.assertInvariants()

    def test_control_characters_are_refused(self):
        """NUL broke the COPY; line breaks moved the statement's :86: lines."""
        good = self._payment("CC-0", 1, self.block)
        fields_ = (
            "payment_reference_number",
            "remitting_account",
            "funds_blocked_reference_number",
            "beneficiary_account",
            "beneficiary_name",
            "beneficiary_phone_no",
            "narrative_1",
            "narrative_6",
            "payment_date",
        )
        for name in fields_:
            for bad in ("a\x00b", "a\nb\nc", "a\r\nb", "a\tb", "a\n", "\x7f"):
                with self.subTest(field=name, text=repr(bad)):
                    error = self.assertBankError(
                        "INVALID_REQUEST",
                        self.bank.initiate_payment,
                        [good, {**good, "payment_reference_number": "CC-1", name: bad}],
                    )
                    self.assertIn(name, str(error))
                    self.assertIn("Payment request 2", str(error))
        # Printable Unicode passes (the fast path leaves it to _text's rule).
        with trap_jobs():
            batch = self.bank.initiate_payment(
                [dict(good, beneficiary_name="Am\u00eena\u00a0W\u200dx")]
            )
        self.assertEqual(batch.payment_ids.beneficiary_name, "Am\u00eena\u00a0W\u200dx")

    def test_replay_must_repeat_the_whole_request(self):
        """Same references with other content, or a part of the batch: refused."""
        other_block = self.bank.block_funds("T-PROG-1", "EUR", "100.00")
        payments = [
            self._payment("RP-5", "10.00", self.block, "T-BEN-5"),
            self._payment("RP-6", "20.00", self.block, "T-BEN-6", narrative_5="N5"),
        ]
        with trap_jobs():
            batch = self.bank.initiate_payment(payments)
        changes = {
            "beneficiary_name": "Someone else",
            "narrative_1": "Another narrative",
            "narrative_5": None,
            "beneficiary_phone_no": "+254 700",
            "funds_blocked_reference_number": other_block.reference,
            "beneficiary_account_type": "MOBILE_WALLET",
            "payment_date": "2026-11-23",
        }
        for name, value in changes.items():
            with self.subTest(field=name):
                changed = [payments[0], dict(payments[1], **{name: value})]
                error = self.assertBankError(
                    "DUPLICATE_REFERENCE", self.bank.initiate_payment, changed
                )
                self.assertIn(f"payment RP-6 has {name}", str(error))
        error = self.assertBankError(
            "DUPLICATE_REFERENCE", self.bank.initiate_payment, payments[:1]
        )
        self.assertIn(f"batch {batch.name} has 2 payments, the request 1", str(error))
        # Texts are compared as recorded: stripped, empty as absent, numbers as text.
        with trap_jobs() as trap:
            self.assertEqual(
                self.bank.initiate_payment(
                    [
                        dict(payments[0], beneficiary_name=" Name T-BEN-5 "),
                        dict(payments[1], narrative_6="  ", payment_amount=20),
                    ]
                ),
                batch,
            )
            trap.assert_jobs_count(0)
