from odoo.tests import tagged

from .registry_common import RegistryApiCase, iban

WALLET = {
    "account_type": "mobile_wallet",
    "wallet_provider": "M-Pesa",
    "phone": "+254755000001",
}


@tagged("post_install", "-at_install")
class TestAccountMapper(RegistryApiCase):
    def setUp(self):
        super().setUp()
        self.post_registrant(self.person("T-MAP-1", "Mapped One", accounts=[WALLET]))
        self.post_registrant(
            self.person("T-MAP-2", "Mapped Two", accounts=[{"iban": iban(5002)}])
        )
        self.post_registrant(self.person("T-MAP-NONE", "Not mapped"))
        self.post_registrant(
            self.person(
                "T-MAP-G",
                is_group=True,
                pay_via_head=True,
                members=[{"functional_id": "T-MAP-2", "is_head": True}],
            )
        )

    def mappings(self, method, mappings):
        response = self.call(method, "/mapper", {"mappings": mappings})
        self.assertEqual(response.status_code, 200, response.text)
        return response.json()

    def test_resolve_one(self):
        response = self.get("/mapper/T-MAP-1")
        self.assertEqual(response.status_code, 200, response.text)
        body = response.json()
        self.assertEqual(body["financial_address"], "+254755000001@m-pesa")
        self.assertEqual(body["account_type"], "mobile_wallet")
        self.assertEqual(body["wallet_provider"], "M-Pesa")
        self.assertEqual(
            body["account_id"], self.partner("T-MAP-1").g2p_primary_bank_account_id.id
        )

    def test_a_group_paid_through_its_head_resolves_to_the_head_account(self):
        body = self.get("/mapper/T-MAP-G").json()
        self.assertEqual(body["functional_id"], "T-MAP-G")
        self.assertEqual(body["financial_address"], iban(5002))

    def test_resolve_errors_are_404(self):
        self.assertError(self.get("/mapper/NOPE"), 404, "REGISTRANT_NOT_FOUND")
        self.assertError(self.get("/mapper/T-MAP-NONE"), 404, "NO_PAYMENT_ACCOUNT")
        self.assertEqual(self.get("/mapper/" + "X" * 200).status_code, 422)

    def test_resolve_many(self):
        response = self.post(
            "/mapper/resolve", {"functional_ids": ["T-MAP-1", "NOPE", "T-MAP-NONE"]}
        )
        self.assertEqual(response.status_code, 200, response.text)
        items = response.json()["items"]
        self.assertEqual([item["found"] for item in items], [True, False, False])
        self.assertEqual(
            [item["error"] and item["error"]["code"] for item in items],
            [None, "REGISTRANT_NOT_FOUND", "NO_PAYMENT_ACCOUNT"],
        )
        self.assertEqual(
            items[0]["mapping"]["financial_address"], "+254755000001@m-pesa"
        )
        for payload in ({"functional_ids": []}, {"functional_ids": ["A"] * 1001}):
            with self.subTest(size=len(payload["functional_ids"])):
                response = self.post("/mapper/resolve", payload)
                self.assertEqual(response.status_code, 422, response.text)

    def test_register_mappings(self):
        result = self.mappings(
            "POST",
            [
                {"functional_id": "T-MAP-NONE", "account": {"iban": iban(5003)}},
                {"functional_id": "T-MAP-1", "account": WALLET},
                {"functional_id": "T-MAP-2", "account": {"iban": iban(5004)}},
                {"functional_id": "NOPE", "account": {"iban": iban(5005)}},
                {"functional_id": "NOPE", "account": {"iban": iban(5005)}},
            ],
        )
        self.assertEqual(
            [
                (item["status"], item["error"] and item["error"]["code"])
                for item in result["items"]
            ],
            [
                ("updated", None),
                ("unchanged", None),
                ("error", "ALREADY_MAPPED"),
                ("error", "REGISTRANT_NOT_FOUND"),
                ("error", "DUPLICATE_FUNCTIONAL_ID"),
            ],
        )
        partner = self.partner("T-MAP-NONE")
        self.assertEqual(partner.g2p_primary_bank_account_id.g2p_iban, iban(5003))
        self.assertEqual(len(self.partner("T-MAP-1").bank_ids), 1)
        self.assertEqual(len(self.partner("T-MAP-2").bank_ids), 1, "nothing added")

    def test_update_mappings_moves_the_primary_account(self):
        result = self.mappings(
            "PUT",
            [
                {"functional_id": "T-MAP-1", "account": {"iban": iban(5006)}},
                {"functional_id": "T-MAP-NONE", "account": {"iban": iban(5007)}},
            ],
        )
        self.assertEqual(
            [
                (item["status"], item["error"] and item["error"]["code"])
                for item in result["items"]
            ],
            [("updated", None), ("error", "NOT_MAPPED")],
        )
        partner = self.partner("T-MAP-1")
        self.assertEqual(partner.g2p_primary_bank_account_id.g2p_iban, iban(5006))
        self.assertEqual(len(partner.bank_ids), 2, "the wallet is kept, not primary")
        self.assertEqual(
            self.get("/mapper/T-MAP-1").json()["financial_address"], iban(5006)
        )
        self.assertFalse(self.partner("T-MAP-NONE").bank_ids)

    def test_mapping_input_errors(self):
        result = self.mappings(
            "PUT",
            [{"functional_id": "T-MAP-1", "account": dict(WALLET, remove=True)}],
        )
        self.assertEqual(result["items"][0]["error"]["code"], "INVALID_MAPPING")
        result = self.mappings(
            "PUT",
            [{"functional_id": "T-MAP-1", "account": dict(WALLET, state="closed")}],
        )
        self.assertEqual(result["items"][0]["error"]["code"], "INVALID_MAPPING")
        self.assertEqual(self.partner("T-MAP-1").bank_ids.g2p_state, "unverified")
        result = self.mappings(
            "PUT",
            [{"functional_id": "T-MAP-1", "account": {"iban": "DE00 0000"}}],
        )
        self.assertEqual(result["items"][0]["error"]["code"], "INVALID_ACCOUNT")
        self.assertEqual(len(self.partner("T-MAP-1").bank_ids), 1)
        for payload in (
            {
                "mappings": [
                    {
                        "functional_id": "T-MAP-1",
                        "new_functional_id": "X",
                        "account": WALLET,
                    }
                ]
            },
            {"mappings": [{"functional_id": "T-MAP-1"}]},
            {"mappings": []},
        ):
            for method in ("POST", "PUT"):
                with self.subTest(payload=payload, method=method):
                    response = self.call(method, "/mapper", payload)
                    self.assertEqual(response.status_code, 422, response.text)
