from odoo.tests import tagged

from .registry_common import IBAN_BANK_BIC, RegistryApiCase, iban


@tagged("post_install", "-at_install")
class TestCreateRegistrant(RegistryApiCase):
    def test_create_individual_with_bank_account_and_wallet(self):
        body = self.post_registrant(
            self.person(
                "T-IND-1",
                "Jane Achieng",
                phone="+254 700 000 001",
                country_code="ke",
                accounts=[
                    {
                        "iban": iban(1001),
                        "bank_bic": IBAN_BANK_BIC,
                        "holder_name": "J A",
                    },
                    {
                        "account_type": "mobile_wallet",
                        "wallet_provider": "M-Pesa",
                        "phone": "+254 711 000 001",
                        "currency": "KES",
                    },
                ],
            )
        )
        partner = self.partner("T-IND-1")
        self.assertTrue(partner.is_registrant)
        self.assertFalse(partner.is_group)
        self.assertEqual(partner.country_id, self.env.ref("base.ke"))
        self.assertEqual(body["id"], partner.id)
        self.assertEqual(body["country_code"], "KE")
        bank_account, wallet = partner.bank_ids.sorted("id")
        self.assertEqual(
            bank_account.bank_id, self.iban_bank, "found by BIC, not created"
        )
        self.assertEqual(bank_account.g2p_iban, iban(1001))
        self.assertTrue(bank_account.g2p_is_primary, "the first account is primary")
        self.assertEqual(wallet.g2p_financial_address, "+254711000001@m-pesa")
        self.assertEqual(wallet.currency_id.name, "KES")
        self.assertEqual(
            [acc["financial_address"] for acc in body["accounts"]],
            [f"{iban(1001)}@{IBAN_BANK_BIC}", "+254711000001@m-pesa"],
        )

    def test_functional_id_generated_when_missing(self):
        body = self.post_registrant({"name": "No ID Person"})
        self.assertTrue(body["functional_id"])
        self.assertEqual(self.partner(body["functional_id"]).name, "No ID Person")

    def test_create_group_with_members_and_head(self):
        self.post_registrant(self.person("T-M-1"))
        self.post_registrant(self.person("T-M-2"))
        body = self.post_registrant(
            self.person(
                "T-GRP-1",
                "Household",
                is_group=True,
                pay_via_head=True,
                members=[
                    {"functional_id": "T-M-1"},
                    {"functional_id": "T-M-2", "is_head": True},
                ],
            )
        )
        group = self.partner("T-GRP-1")
        self.assertTrue(group.is_group)
        self.assertEqual(group.group_head_id, self.partner("T-M-2"))
        self.assertEqual(
            {(m["functional_id"], m["is_head"]) for m in body["members"]},
            {("T-M-1", False), ("T-M-2", True)},
        )

    def test_functional_id_already_used_is_409_and_changes_nothing(self):
        self.post_registrant(self.person("T-DUP", "First"))
        response = self.post("/registrants", self.person("T-DUP", "Second"))
        message = self.assertError(response, 409, "FUNCTIONAL_ID_TAKEN")
        self.assertIn("T-DUP", message)
        self.assertEqual(self.partner("T-DUP").name, "First")

    def test_bank_named_by_name_is_created_once(self):
        for fid, spelling in (
            ("T-BN-1", "Bank of Testland"),
            ("T-BN-2", " BANK of  testland"),
        ):
            self.post_registrant(
                self.person(
                    fid, accounts=[{"account_number": "12345", "bank_name": spelling}]
                )
            )
        banks = self.env["res.bank"].search([("g2p_name_key", "=", "bank of testland")])
        self.assertEqual(len(banks), 1)
        self.assertEqual(
            (self.partner("T-BN-1") | self.partner("T-BN-2")).bank_ids.bank_id, banks
        )

    def test_invalid_iban_is_422_with_the_model_message_and_writes_nothing(self):
        response = self.post(
            "/registrants",
            self.person("T-BAD-IBAN", accounts=[{"iban": "DE89370400440532013001"}]),
        )
        message = self.assertError(response, 422, "INVALID_ACCOUNT")
        self.assertIn("check digits", message)
        self.assertFalse(self.partner("T-BAD-IBAN"))

    def test_model_error_after_the_partner_is_created_leaves_nothing(self):
        """Two primary accounts: g2p_bank refuses them once the partner exists; the
        partner is undone with them."""
        response = self.post(
            "/registrants",
            self.person(
                "T-TWO-PRIM",
                accounts=[
                    {"account_number": "111", "is_primary": True},
                    {"account_number": "222", "is_primary": True},
                ],
            ),
        )
        message = self.assertError(response, 422, "INVALID_ACCOUNT")
        self.assertIn("only one primary account", message)
        self.assertFalse(self.partner("T-TWO-PRIM"))
        self.assertFalse(
            self.env["res.partner.bank"].search([("acc_number", "in", ["111", "222"])])
        )

    def test_wallet_without_phone_is_422(self):
        response = self.post(
            "/registrants",
            self.person(
                "T-WAL",
                accounts=[{"account_type": "mobile_wallet", "wallet_provider": "X"}],
            ),
        )
        self.assertIn("phone", self.assertError(response, 422, "INVALID_ACCOUNT"))
        self.assertFalse(self.partner("T-WAL"))

    def test_members_must_be_registered_individuals(self):
        response = self.post(
            "/registrants",
            self.person("T-G-X", is_group=True, members=[{"functional_id": "NOPE-1"}]),
        )
        self.assertIn("NOPE-1", self.assertError(response, 422, "UNKNOWN_MEMBER"))
        self.assertFalse(self.partner("T-G-X"))
        self.post_registrant(self.person("T-G-IN-G", is_group=True))
        response = self.post(
            "/registrants",
            self.person(
                "T-G-Y", is_group=True, members=[{"functional_id": "T-G-IN-G"}]
            ),
        )
        self.assertError(response, 422, "INVALID_MEMBERS")
        response = self.post(
            "/registrants",
            self.person("T-IND-M", members=[{"functional_id": "T-G-IN-G"}]),
        )
        self.assertError(response, 422, "INVALID_MEMBERS")

    def test_unknown_country_and_currency_are_422(self):
        response = self.post("/registrants", self.person("T-C1", country_code="QQ"))
        self.assertError(response, 422, "UNKNOWN_COUNTRY")
        response = self.post(
            "/registrants",
            self.person("T-C2", accounts=[{"account_number": "1", "currency": "QQQ"}]),
        )
        self.assertError(response, 422, "INVALID_ACCOUNT")
        self.assertFalse(self.partner("T-C1") | self.partner("T-C2"))

    def test_malformed_and_hostile_input_is_422(self):
        big = "x" * 10_000
        cases = {
            "missing name": {"functional_id": "T-H-1"},
            "null name": {"functional_id": "T-H-1", "name": None},
            "10 kB name": {"functional_id": "T-H-1", "name": big},
            "10 kB functional id": {"functional_id": big, "name": "A"},
            "SQL-ish functional id": {
                "functional_id": "'; DROP TABLE res_partner; --",
                "name": "A",
            },
            "number as name": {"functional_id": "T-H-1", "name": 123},
            "unknown key": {"functional_id": "T-H-1", "name": "A", "is_admin": True},
            "wrong boolean": {
                "functional_id": "T-H-1",
                "name": "A",
                "is_group": "yes!",
            },
            "accounts not a list": {
                "functional_id": "T-H-1",
                "name": "A",
                "accounts": {},
            },
            "unknown account type": {
                "functional_id": "T-H-1",
                "name": "A",
                "accounts": [{"account_type": "gold_bars", "account_number": "1"}],
            },
            "unknown key in account": {
                "functional_id": "T-H-1",
                "name": "A",
                "accounts": [{"account_number": "1", "pin": "1234"}],
            },
            "10 kB IBAN": {
                "functional_id": "T-H-1",
                "name": "A",
                "accounts": [{"iban": big}],
            },
            "NUL in a name": {"functional_id": "T-H-1", "name": "A\x00B"},
            "control character in an IBAN": {
                "functional_id": "T-H-1",
                "name": "A",
                "accounts": [{"iban": "DE89\x073704"}],
            },
            "bad country code": {
                "functional_id": "T-H-1",
                "name": "A",
                "country_code": "K",
            },
            # It used to reach the database and answer 409 "retry it".
            "null account state": {
                "functional_id": "T-H-1",
                "name": "A",
                "accounts": [{"account_number": "1", "state": None}],
            },
        }
        for case, payload in cases.items():
            with self.subTest(case):
                response = self.post("/registrants", payload)
                self.assertEqual(response.status_code, 422, response.text)
                self.assertTrue(response.json()["detail"])
        response = self.call("POST", "/registrants", None)
        self.assertEqual(response.status_code, 422, response.text)
        self.assertFalse(self.partner("T-H-1"))

    def test_sql_ish_text_is_stored_literally(self):
        name = "Robert'); DROP TABLE res_partner;--"
        self.post_registrant(self.person("T-BOBBY", name))
        self.assertEqual(self.partner("T-BOBBY").name, name)


@tagged("post_install", "-at_install")
class TestReadRegistrants(RegistryApiCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        Partner = cls.env["res.partner"]
        cls.alice, cls.bob = Partner.create(
            [
                {
                    "name": "Alice Searchable",
                    "is_registrant": True,
                    "g2p_functional_id": "T-S-A",
                },
                {
                    "name": "Bob Searchable",
                    "is_registrant": True,
                    "g2p_functional_id": "T-S-B",
                },
            ]
        )
        cls.house = Partner.create(
            {
                "name": "Searchable household",
                "is_registrant": True,
                "is_group": True,
                "g2p_functional_id": "T-S-H",
                "group_member_ids": [
                    (0, 0, {"individual_id": cls.alice.id, "is_head": True})
                ],
            }
        )
        cls.gone = Partner.create(
            {
                "name": "Archived Searchable",
                "is_registrant": True,
                "g2p_functional_id": "T-S-Z",
                "active": False,
            }
        )
        cls.env["res.partner.bank"].create(
            [
                {"partner_id": cls.alice.id, "acc_number": iban(2001)},
                {
                    "partner_id": cls.bob.id,
                    "g2p_account_type": "mobile_wallet",
                    "g2p_wallet_provider": "M-Pesa",
                    "g2p_phone": "+254722000002",
                },
            ]
        )
        cls.contact = Partner.create({"name": "Not a registrant"})

    def search(self, **params):
        response = self.get("/registrants", **params)
        self.assertEqual(response.status_code, 200, response.text)
        return response.json()

    def test_get_by_id_and_functional_id(self):
        body = self.get(f"/registrants/{self.house.id}").json()
        self.assertEqual(body["functional_id"], "T-S-H")
        self.assertEqual(body["members"][0]["functional_id"], "T-S-A")
        self.assertTrue(body["members"][0]["is_head"])
        body = self.get("/registrants/by-functional-id/T-S-A").json()
        self.assertEqual(body["id"], self.alice.id)
        self.assertEqual(body["accounts"][0]["iban"], iban(2001))
        archived = self.get("/registrants/by-functional-id/T-S-Z").json()
        self.assertFalse(archived["active"])

    def test_unknown_ids_are_404(self):
        for path in (
            "/registrants/999999999",
            f"/registrants/{self.contact.id}",
            "/registrants/by-functional-id/NOPE",
        ):
            with self.subTest(path):
                self.assertError(self.get(path), 404, "REGISTRANT_NOT_FOUND")
        for path in (
            "/registrants/abc",
            "/registrants/0",
            "/registrants/99999999999",
            "/registrants/by-functional-id/" + "F" * 10_000,
        ):
            with self.subTest(path):
                self.assertEqual(self.get(path).status_code, 422)

    def test_search_filters(self):
        def fids(**params):
            return [item["functional_id"] for item in self.search(**params)["items"]]

        self.assertEqual(fids(name="searchable"), ["T-S-A", "T-S-B", "T-S-H"])
        self.assertEqual(fids(functional_id="T-S-B"), ["T-S-B"])
        self.assertEqual(fids(name="searchable", is_group="true"), ["T-S-H"])
        self.assertEqual(fids(account_number=iban(2001)), ["T-S-A"])
        self.assertEqual(fids(account_number="+254 722 000 002"), ["T-S-B"])
        self.assertEqual(fids(name="searchable", active="false"), ["T-S-Z"])
        self.assertEqual(
            fids(name="searchable", active="all"), ["T-S-A", "T-S-B", "T-S-H", "T-S-Z"]
        )
        # Values whose normalised form is empty match nothing (not every empty field).
        self.assertEqual(fids(account_number="---"), [])
        self.assertEqual(fids(name="searchable", account_number="no-digits@x"), [])
        self.assertEqual(fids(name="Not a registrant"), [])
        self.assertEqual(fids(name="'; DROP TABLE res_partner; --"), [])

    def test_malformed_search_filters_are_422(self):
        """Filters the query accepts but the search refuses (blanks only, once
        stripped) are malformed queries too; they used to answer 500."""
        for params in ({"functional_id": "   "}, {"functional_id": ""}):
            with self.subTest(params):
                response = self.get("/registrants", **params)
                self.assertEqual(response.status_code, 422, response.text)
                self.assertEqual(
                    response.json()["detail"][0]["loc"], ["query", "functional_id"]
                )

    def test_search_paging(self):
        first = self.search(name="searchable", page_size=2)
        second = self.search(name="searchable", page_size=2, page=2)
        self.assertEqual((first["count"], second["count"]), (3, 3))
        self.assertEqual(len(first["items"]), 2)
        self.assertEqual([item["functional_id"] for item in second["items"]], ["T-S-H"])
        for params in (
            {"page_size": 1000},
            {"page": 0},
            {"is_group": "maybe"},
            {"active": "sometimes"},
            {"name": "x" * 10_000},
            {"name": "nul\x00byte"},
        ):
            with self.subTest(params):
                self.assertEqual(self.get("/registrants", **params).status_code, 422)


@tagged("post_install", "-at_install")
class TestUpdateRegistrant(RegistryApiCase):
    def setUp(self):
        super().setUp()
        body = self.post_registrant(
            self.person(
                "T-U-1",
                "Before",
                phone="+254700000010",
                accounts=[
                    {"iban": iban(3001), "bank_bic": IBAN_BANK_BIC},
                    {"account_number": "LOCAL-9", "bank_bic": "TSTBKENA"},
                ],
            )
        )
        self.rid = body["id"]
        self.partner_u = self.partner("T-U-1")

    def test_patch_changes_only_the_keys_given(self):
        response = self.patch(f"/registrants/{self.rid}", {"name": "After"})
        self.assertEqual(response.status_code, 200, response.text)
        self.assertEqual(response.json()["name"], "After")
        self.assertEqual(self.partner_u.phone, "+254700000010")
        self.assertEqual(len(self.partner_u.bank_ids), 2)

    def test_functional_id_cannot_change(self):
        response = self.patch(f"/registrants/{self.rid}", {"functional_id": "OTHER"})
        self.assertIn(
            "T-U-1", self.assertError(response, 409, "FUNCTIONAL_ID_IMMUTABLE")
        )
        self.assertEqual(self.partner_u.g2p_functional_id, "T-U-1")
        response = self.patch(
            f"/registrants/{self.rid}", {"functional_id": "T-U-1", "name": "Same ID"}
        )
        self.assertEqual(response.status_code, 200, response.text)

    def test_patch_errors(self):
        self.assertError(
            self.patch("/registrants/999999999", {"name": "X"}),
            404,
            "REGISTRANT_NOT_FOUND",
        )
        for payload in (
            {"is_group": True},
            {"name": None},
            {"name": ""},
            {"active": None},
        ):
            with self.subTest(payload):
                response = self.patch(f"/registrants/{self.rid}", payload)
                self.assertEqual(response.status_code, 422, response.text)
        self.assertEqual(self.partner_u.name, "Before")

    def test_close_an_account(self):
        messages = self.messages(self.partner_u)
        response = self.patch(
            f"/registrants/{self.rid}",
            {"accounts": [{"iban": iban(3001), "state": "closed"}]},
        )
        self.assertEqual(response.status_code, 200, response.text)
        account = self.partner_u.bank_ids.filtered(lambda a: a.g2p_iban == iban(3001))
        self.assertEqual(account.g2p_state, "closed")
        self.assertFalse(account.g2p_is_primary, "a closed account is not primary")
        self.assertEqual(len(self.partner_u.bank_ids), 2, "updated, not added")
        self.assertGreater(self.messages(self.partner_u), messages, "audited")

    def test_remove_an_account_with_the_flag_and_bring_it_back(self):
        response = self.patch(
            f"/registrants/{self.rid}",
            {"accounts": [{"account_number": "LOCAL-9", "remove": True}]},
        )
        self.assertEqual(response.status_code, 200, response.text)
        active = self.partner_u.bank_ids.filtered("active")
        self.assertEqual(active.mapped("acc_number"), [iban(3001)])
        removed = [acc for acc in response.json()["accounts"] if not acc["active"]]
        self.assertEqual([acc["account_number"] for acc in removed], ["LOCAL-9"])
        response = self.patch(
            f"/registrants/{self.rid}",
            {"accounts": [{"account_number": "LOCAL-9", "bank_bic": "TSTBKENA"}]},
        )
        self.assertEqual(response.status_code, 200, response.text)
        self.assertEqual(
            len(self.partner_u.bank_ids.filtered("active")),
            2,
            "the archived one is back",
        )

    def test_remove_an_unknown_account_is_404(self):
        response = self.patch(
            f"/registrants/{self.rid}",
            {
                "name": "Changed",
                "accounts": [{"account_number": "NOPE", "remove": True}],
            },
        )
        self.assertError(response, 404, "ACCOUNT_NOT_FOUND")
        self.assertEqual(self.partner_u.name, "Before", "the whole patch is undone")

    def test_delete_route_archives_the_account(self):
        account = self.partner_u.bank_ids.filtered(lambda a: a.acc_number == "LOCAL-9")
        path = f"/registrants/{self.rid}/accounts/{account.id}"
        response = self.call("DELETE", path)
        self.assertEqual(response.status_code, 204, response.text)
        self.assertFalse(account.active)
        self.assertTrue(account.exists(), "archived, not deleted")
        self.assertError(
            self.call("DELETE", f"/registrants/999999999/accounts/{account.id}"),
            404,
            "REGISTRANT_NOT_FOUND",
        )
        self.assertEqual(
            self.call("DELETE", f"/registrants/{self.rid}/accounts/x").status_code, 422
        )
        other = self.post_registrant(self.person("T-U-OTHER"))
        self.assertError(
            self.call("DELETE", f"/registrants/{other['id']}/accounts/{account.id}"),
            404,
            "ACCOUNT_NOT_FOUND",
        )

    def test_patch_members_replaces_them_and_moves_the_head(self):
        for fid in ("T-U-M1", "T-U-M2", "T-U-M3"):
            self.post_registrant(self.person(fid))
        group = self.post_registrant(
            self.person(
                "T-U-G",
                is_group=True,
                members=[
                    {"functional_id": "T-U-M1", "is_head": True},
                    {"functional_id": "T-U-M2"},
                ],
            )
        )
        response = self.patch(
            f"/registrants/{group['id']}",
            {
                "members": [
                    {"functional_id": "T-U-M2", "is_head": True},
                    {"functional_id": "T-U-M3"},
                ]
            },
        )
        self.assertEqual(response.status_code, 200, response.text)
        group_partner = self.partner("T-U-G")
        self.assertEqual(
            group_partner.group_member_ids.individual_id,
            self.partner("T-U-M2") | self.partner("T-U-M3"),
        )
        self.assertEqual(group_partner.group_head_id, self.partner("T-U-M2"))


@tagged("post_install", "-at_install")
class TestAccountMatching(RegistryApiCase):
    """Accounts in a payload are upserted: each matching rule finds the account."""

    def setUp(self):
        super().setUp()
        self.other_bank = self.env["res.bank"].create(
            {"name": "Other Test Bank", "bic": "OTHRKENA"}
        )
        self.rid = self.post_registrant(
            self.person(
                "T-MATCH",
                accounts=[
                    {"iban": iban(4001)},
                    {"account_number": "777-001", "bank_bic": "TSTBKENA"},
                    {
                        "account_type": "mobile_wallet",
                        "wallet_provider": "M-Pesa",
                        "phone": "+254733000001",
                    },
                    {
                        "account_type": "email_wallet",
                        "wallet_provider": "PayPal",
                        "email": "jane@example.org",
                    },
                ],
            )
        )["id"]
        self.accounts = self.partner("T-MATCH").bank_ids

    def upsert(self, account):
        response = self.patch(f"/registrants/{self.rid}", {"accounts": [account]})
        self.assertEqual(response.status_code, 200, response.text)
        return self.partner("T-MATCH").bank_ids

    def assertMatched(self, account, holder):
        accounts = self.upsert(dict(account, holder_name=holder))
        self.assertEqual(accounts, self.accounts, "no account added")
        self.assertEqual(
            accounts.filtered(lambda a: a.acc_holder_name == holder).ids[:1],
            [self.matched.id],
        )

    def test_by_iban(self):
        self.matched = self.accounts.filtered(lambda a: a.g2p_iban == iban(4001))
        self.assertMatched({"iban": iban(4001)[:4] + " " + iban(4001)[4:]}, "By IBAN")

    def test_by_number_and_bank(self):
        self.matched = self.accounts.filtered(lambda a: a.acc_number == "777-001")
        self.assertMatched({"account_number": "777-001", "bank_bic": "TSTBKENA"}, "N+B")
        self.assertMatched({"account_number": "777 001"}, "number, no bank named")

    def test_an_iban_matches_the_local_account_it_was_derived_for(self):
        rid = self.post_registrant(
            self.person(
                "T-DERIVE",
                country_code="DE",
                accounts=[{"account_number": "532013000", "bank_code": "37040044"}],
            )
        )["id"]
        account = self.partner("T-DERIVE").bank_ids
        self.assertEqual(account.g2p_iban, "DE89370400440532013000")
        response = self.patch(
            f"/registrants/{rid}",
            {"accounts": [{"iban": "DE89 3704 0044 0532 0130 00", "holder_name": "D"}]},
        )
        self.assertEqual(response.status_code, 200, response.text)
        self.assertEqual(self.partner("T-DERIVE").bank_ids, account)
        self.assertEqual(
            (account.acc_number, account.acc_holder_name), ("532013000", "D")
        )

    def test_same_number_at_another_bank_is_refused(self):
        response = self.patch(
            f"/registrants/{self.rid}",
            {"accounts": [{"account_number": "777-001", "bank_bic": "OTHRKENA"}]},
        )
        self.assertIn(
            "already has the account",
            self.assertError(response, 422, "INVALID_ACCOUNT"),
        )

    def test_by_wallet_provider_and_phone(self):
        self.matched = self.accounts.filtered(lambda a: a.g2p_phone == "+254733000001")
        self.assertMatched(
            {
                "account_type": "mobile_wallet",
                "wallet_provider": "m-pesa",
                "phone": "+254 733-000 001",
            },
            "By phone",
        )

    def test_by_wallet_provider_and_email(self):
        self.matched = self.accounts.filtered(
            lambda a: a.g2p_email == "jane@example.org"
        )
        self.assertMatched(
            {
                "account_type": "email_wallet",
                "wallet_provider": "PAYPAL",
                "email": "Jane@Example.org",
            },
            "By email",
        )

    def test_another_phone_is_a_new_wallet(self):
        accounts = self.upsert(
            {
                "account_type": "mobile_wallet",
                "wallet_provider": "M-Pesa",
                "phone": "+254733000002",
            }
        )
        self.assertEqual(len(accounts), 5)

    def test_same_phone_at_another_provider_is_another_wallet(self):
        """The upsert's identity of a wallet (provider and phone) is g2p_bank's."""
        response = self.patch(
            f"/registrants/{self.rid}",
            {
                "accounts": [
                    {
                        "account_type": "mobile_wallet",
                        "wallet_provider": "Airtel",
                        "phone": "+254733000001",
                    }
                ]
            },
        )
        self.assertEqual(response.status_code, 200, response.text)
        added = self.partner("T-MATCH").bank_ids - self.accounts
        self.assertEqual(added.g2p_financial_address, "+254733000001@airtel")

    def test_unchanged_account_writes_no_audit_message(self):
        partner = self.partner("T-MATCH")
        messages = self.messages(partner)
        self.upsert({"iban": iban(4001)})
        self.upsert(
            {
                "account_type": "mobile_wallet",
                "wallet_provider": "M-Pesa",
                "phone": "+254733000001",
            }
        )
        self.assertEqual(self.messages(partner), messages)
