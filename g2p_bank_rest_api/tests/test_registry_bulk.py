from odoo.tests import tagged

from ..schemas.registry import MAX_BULK_ITEMS
from .registry_common import IBAN_BANK_BIC, RegistryApiCase, iban


@tagged("post_install", "-at_install")
class TestRegistryBulk(RegistryApiCase):
    def bulk(self, registrants, expected=200):
        response = self.post("/registrants/bulk", {"registrants": registrants})
        self.assertEqual(response.status_code, expected, response.text)
        return response.json()

    def household(self, prefix, size=3):
        """``size`` individuals with a bank account and a wallet, then their group."""
        people = [
            self.person(
                f"{prefix}-{index}",
                accounts=[
                    {
                        "iban": iban(f"{len(prefix)}{index:04d}"),
                        "bank_bic": IBAN_BANK_BIC,
                    },
                    {
                        "account_type": "mobile_wallet",
                        "wallet_provider": "M-Pesa",
                        "phone": f"+25474{len(prefix)}{index:06d}",
                    },
                ],
            )
            for index in range(size)
        ]
        group = self.person(
            f"{prefix}-G",
            is_group=True,
            members=[
                {"functional_id": person["functional_id"], "is_head": not index}
                for index, person in enumerate(people)
            ],
        )
        return [*people, group]

    def statuses(self, result):
        return [item["status"] for item in result["items"]]

    def test_creates_individuals_and_their_group_in_one_request(self):
        result = self.bulk(self.household("T-BK"))
        self.assertEqual(
            (
                result["created"],
                result["updated"],
                result["unchanged"],
                result["errors"],
            ),
            (4, 0, 0, 0),
        )
        self.assertEqual([item["index"] for item in result["items"]], [0, 1, 2, 3])
        group = self.partner("T-BK-G")
        self.assertEqual(result["items"][3]["id"], group.id)
        self.assertEqual(group.group_head_id, self.partner("T-BK-0"))
        self.assertEqual(len(group.group_member_ids), 3)
        self.assertEqual(len(self.partner("T-BK-1").bank_ids), 2)
        self.assertEqual(
            group._g2p_payment_accounts()[group.id],
            self.partner("T-BK-0").g2p_primary_bank_account_id,
        )

    def test_a_bad_item_in_the_middle_does_not_block_the_others(self):
        registrants = self.household("T-BAD")
        bad_iban = self.person("T-BAD-X", accounts=[{"iban": "DE00123"}])
        two_primaries = self.person(
            "T-BAD-Y",
            accounts=[
                {"account_number": "1", "is_primary": True},
                {"account_number": "2", "is_primary": True},
            ],
        )
        registrants[1:1] = [bad_iban]
        registrants[3:3] = [two_primaries]
        result = self.bulk(registrants)
        self.assertEqual(
            self.statuses(result),
            ["created", "error", "created", "error", "created", "created"],
        )
        self.assertEqual((result["created"], result["errors"]), (4, 2))
        for index, fid in ((1, "T-BAD-X"), (3, "T-BAD-Y")):
            item = result["items"][index]
            self.assertEqual(
                (item["index"], item["functional_id"], item["id"]), (index, fid, None)
            )
            self.assertEqual(item["error"]["code"], "INVALID_ACCOUNT")
            self.assertFalse(self.partner(fid), "a failed item leaves nothing")
        self.assertIn("IBAN", result["items"][1]["error"]["message"])
        self.assertIn("primary", result["items"][3]["error"]["message"])
        self.assertEqual(len(self.partner("T-BAD-G").group_member_ids), 3)

    def test_replay_changes_nothing(self):
        registrants = self.household("T-RPL")
        first = self.bulk(registrants)
        self.assertEqual(first["created"], 4)
        partners = self.env["res.partner"].search(
            [("g2p_functional_id", "=like", "T-RPL-%")]
        )
        accounts = self.env["res.partner.bank"].search_count([])
        banks = self.env["res.bank"].search_count([])
        memberships = self.env["g2p.group.membership"].search_count([])
        messages = self.messages(partners)
        second = self.bulk(registrants)
        self.assertEqual(
            (
                second["created"],
                second["updated"],
                second["unchanged"],
                second["errors"],
            ),
            (0, 0, 4, 0),
        )
        self.assertEqual(
            [item["id"] for item in second["items"]],
            [item["id"] for item in first["items"]],
        )
        self.assertEqual(self.env["res.partner.bank"].search_count([]), accounts)
        self.assertEqual(self.env["res.bank"].search_count([]), banks)
        self.assertEqual(self.env["g2p.group.membership"].search_count([]), memberships)
        self.assertEqual(self.messages(partners), messages, "no audit message")

    def test_replay_with_one_change_updates_only_that_item(self):
        registrants = self.household("T-CHG")
        self.bulk(registrants)
        registrants[1]["accounts"][0]["state"] = "verified"
        registrants[2]["name"] = "Renamed"
        result = self.bulk(registrants)
        self.assertEqual(
            self.statuses(result), ["unchanged", "updated", "updated", "unchanged"]
        )
        self.assertEqual(self.partner("T-CHG-2").name, "Renamed")
        self.assertEqual(
            self.partner("T-CHG-1").bank_ids.mapped("g2p_state"),
            ["verified", "unverified"],
        )

    def test_item_errors(self):
        self.post_registrant(self.person("T-IE-IND"))
        result = self.bulk(
            [
                self.person("T-IE-1"),
                self.person("T-IE-1", "Twice"),
                {"name": "No functional ID"},
                self.person("T-IE-IND", is_group=True),
                self.person("T-IE-G", is_group=True, members=[{"functional_id": "NO"}]),
            ]
        )
        self.assertEqual(
            [item["error"] and item["error"]["code"] for item in result["items"]],
            [
                None,
                "DUPLICATE_FUNCTIONAL_ID",
                "FUNCTIONAL_ID_REQUIRED",
                "KIND_IMMUTABLE",
                "UNKNOWN_MEMBER",
            ],
        )
        self.assertEqual(self.partner("T-IE-1").name, "T-IE-1")
        self.assertFalse(self.partner("T-IE-IND").is_group)

    def test_too_many_or_no_registrants_is_422_with_a_clear_message(self):
        registrants = [self.person(f"T-MANY-{i}") for i in range(MAX_BULK_ITEMS + 1)]
        response = self.post("/registrants/bulk", {"registrants": registrants})
        self.assertEqual(response.status_code, 422, response.text)
        self.assertIn("at most 1000 registrants", response.text)
        self.assertFalse(self.partner("T-MANY-0"))
        response = self.post("/registrants/bulk", {"registrants": []})
        self.assertEqual(response.status_code, 422, response.text)
        for payload in ({}, {"registrants": "all"}, {"registrants": [{"x": 1}]}):
            with self.subTest(payload):
                response = self.post("/registrants/bulk", payload)
                self.assertEqual(response.status_code, 422, response.text)

    def test_one_malformed_item_refuses_the_request(self):
        """A shape error is the client's bug: the request is refused whole (422)."""
        registrants = [self.person("T-SHAPE-1"), self.person("T-SHAPE-2", name=5)]
        self.bulk(registrants, expected=422)
        self.assertFalse(self.partner("T-SHAPE-1"))
