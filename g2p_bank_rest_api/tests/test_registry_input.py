from odoo.tests import tagged

from ..registry_errors import RegistryError
from .registry_common import RegistryApiCase, iban


@tagged("post_install", "-at_install")
class TestOneLineText(RegistryApiCase):
    def test_line_breaks_are_422_naming_the_field(self):
        """A functional ID with a line break was registered (201), and could then
        not be read back by its route."""
        for payload, loc in (
            (self.person("RVAPI\nF1", "x"), ["body", "functional_id"]),
            (self.person("RVAPI-F2", "Jane\r\nDoe"), ["body", "name"]),
            (
                self.person("RVAPI-F3", accounts=[{"account_number": "12\t34"}]),
                ["body", "accounts", 0, "account_number"],
            ),
        ):
            with self.subTest(loc[-1]):
                response = self.post("/registrants", payload)
                self.assertEqual(response.status_code, 422, response.text)
                self.assertEqual(response.json()["detail"][0]["loc"], loc)
        self.assertFalse(self.partner("RVAPI-F2") | self.partner("RVAPI-F3"))

    def test_functional_id_with_a_slash_can_be_read_back(self):
        self.post_registrant(
            self.person(
                "RV/2026/1", accounts=[{"iban": iban(9101), "is_primary": True}]
            )
        )
        for path in ("/registrants/by-functional-id/", "/mapper/"):
            with self.subTest(path):
                response = self.get(path + "RV%2F2026%2F1")
                self.assertEqual(response.status_code, 200, response.text)
                self.assertEqual(response.json()["functional_id"], "RV/2026/1")


@tagged("post_install", "-at_install")
class TestDuplicateMembers(RegistryApiCase):
    """A member listed twice was 409 "retry it" on create and bulk (a retry could
    never succeed) and silently kept once on PATCH."""

    def setUp(self):
        super().setUp()
        for fid in ("T-DM-1", "T-DM-2"):
            self.post_registrant(self.person(fid))
        self.twice = [
            {"functional_id": "T-DM-1", "is_head": True},
            {"functional_id": "T-DM-2"},
            {"functional_id": "T-DM-2"},
        ]

    def test_create(self):
        response = self.post(
            "/registrants", self.person("T-DM-G", is_group=True, members=self.twice)
        )
        message = self.assertError(response, 422, "DUPLICATE_MEMBER")
        self.assertIn("T-DM-2", message)
        self.assertFalse(self.partner("T-DM-G"))

    def test_bulk(self):
        response = self.post(
            "/registrants/bulk",
            {
                "registrants": [
                    self.person("T-DM-G", is_group=True, members=self.twice),
                    self.person("T-DM-3"),
                ]
            },
        )
        self.assertEqual(response.status_code, 200, response.text)
        first, second = response.json()["items"]
        self.assertEqual(first["status"], "error")
        self.assertEqual(first["error"]["code"], "DUPLICATE_MEMBER")
        self.assertIn("T-DM-2", first["error"]["message"])
        self.assertEqual(second["status"], "created")
        self.assertFalse(self.partner("T-DM-G"))

    def test_patch(self):
        group = self.post_registrant(
            self.person("T-DM-G", is_group=True, members=self.twice[:2])
        )
        response = self.patch(
            f"/registrants/{group['id']}",
            {"members": [{"functional_id": "T-DM-2"}, {"functional_id": "T-DM-2"}]},
        )
        message = self.assertError(response, 422, "DUPLICATE_MEMBER")
        self.assertIn("T-DM-2", message)
        self.assertEqual(
            self.partner("T-DM-G").group_member_ids.individual_id,
            self.partner("T-DM-1") | self.partner("T-DM-2"),
        )


@tagged("post_install", "-at_install")
class TestNameSearch(RegistryApiCase):
    def test_percent_and_underscore_are_literal(self):
        for fid, name in (("T-NS-1", "Zqx 100% Doe"), ("T-NS-2", "Zqx_Doe")):
            self.post_registrant(self.person(fid, name))
        self.post_registrant(self.person("T-NS-3", "Zqx Xoe"))
        for name, expected in (
            ("%", ["T-NS-1"]),
            ("x_D", ["T-NS-2"]),
            ("100%", ["T-NS-1"]),
            ("zqx", ["T-NS-1", "T-NS-2", "T-NS-3"]),
        ):
            with self.subTest(name):
                response = self.get("/registrants", name=name, page_size=200)
                self.assertEqual(response.status_code, 200, response.text)
                found = [
                    item["functional_id"]
                    for item in response.json()["items"]
                    if item["functional_id"].startswith("T-NS-")
                ]
                self.assertEqual(found, expected)

    def test_an_account_listed_twice_is_422_not_a_conflict_to_retry(self):
        for accounts in (
            [{"account_number": "5551"}, {"account_number": "5551"}],
            [
                {"iban": iban(7001), "is_primary": True},
                {"iban": iban(7002), "is_primary": True},
            ],
        ):
            with self.subTest(accounts[0]):
                response = self.post(
                    "/registrants", self.person("T-DA", accounts=accounts)
                )
                self.assertError(response, 422, "INVALID_ACCOUNT")
                self.assertFalse(self.partner("T-DA"))


@tagged("post_install", "-at_install")
class TestDatabaseRefusals(RegistryApiCase):
    """How the database's refusals are reported (``_errors_as``)."""

    def refusal(self, query):
        engine = self.env["g2p.registry.upsert"]
        # The messages are translated while the transaction is aborted: as in a
        # request, the language is known by then (cached).
        engine._not_found("T-DB-0")
        with (
            self.assertRaises(RegistryError) as caught,
            self.env.cr.savepoint(),
            engine._errors_as("INVALID_MEMBERS"),
        ):
            self.env.cr.execute(query)
        return caught.exception

    def test_unique_key_of_a_concurrent_change_names_the_key(self):
        self.post_registrant(self.person("T-DB-1"))
        self.post_registrant(
            self.person("T-DB-G", is_group=True, members=[{"functional_id": "T-DB-1"}])
        )
        error = self.refusal(
            "INSERT INTO g2p_group_membership (group_id, individual_id, is_head)"
            " SELECT group_id, individual_id, false FROM g2p_group_membership"
            f" WHERE group_id = {self.partner('T-DB-G').id}"
        )
        self.assertEqual((error.code, error.status), ("CONFLICT", 409))
        self.assertIn("already exists", error.message)

    def test_check_or_not_null_is_the_requests_values_not_a_race(self):
        error = self.refusal(
            "INSERT INTO g2p_group_membership (group_id, individual_id) VALUES"
            " (NULL, NULL)"
        )
        self.assertEqual((error.code, error.status), ("INVALID_MEMBERS", 422))
        self.assertNotIn("retry", error.message)


@tagged("post_install", "-at_install")
class TestMalformedJson(RegistryApiCase):
    def post_raw(self, path, body):
        with self._create_test_client(raise_server_exceptions=False) as client:
            return client.post(
                path, content=body, headers={"Content-Type": "application/json"}
            )

    def test_a_huge_number_is_422_not_500(self):
        response = self.post_raw(
            "/registrants", b'{"functional_id": "RVAPI-N1", "name": 1e5000}'
        )
        self.assertEqual(response.status_code, 422, response.text)
        self.assertIn("1e5000", response.json()["detail"][0]["msg"])
        response = self.post_raw(
            "/registrants", b'{"functional_id": "RVAPI-N1", "name": 1e50}'
        )
        self.assertEqual(response.status_code, 422, response.text)
        self.assertEqual(response.json()["detail"][0]["loc"], ["body", "name"])
        self.assertLess(len(response.content), 1000)

    def test_a_lone_surrogate_is_422_naming_the_field(self):
        for path, body, loc in (
            (
                "/registrants",
                b'{"functional_id": "RVAPI-S1", "name": "A \\ud800"}',
                ["body", "name"],
            ),
            (
                "/mapper/resolve",
                b'{"functional_ids": ["X\\ud800"]}',
                ["body", "functional_ids", 0],
            ),
            (
                "/registrants",
                # A key: pydantic reads it as text first.
                b'{"functional_id": "RVAPI-S1", "name": "A", "\\ud800": 1}',
                ["body"],
            ),
        ):
            with self.subTest(loc):
                response = self.post_raw(path, body)
                self.assertEqual(response.status_code, 422, response.text)
                self.assertEqual(
                    response.json()["detail"][0]["loc"], loc, response.text
                )
        self.assertFalse(self.partner("RVAPI-S1"))

    def test_control_characters_at_the_end_are_422_not_stripped(self):
        for payload, loc in (
            (self.person("RVAPI-T1\u2028", "one"), ["body", "functional_id"]),
            (self.person("RVAPI-T2", "two\u0085"), ["body", "name"]),
            (self.person("RVAPI-T3", "three\t"), ["body", "name"]),
            (self.person("RVAPI-T4", country_code="KE\n"), ["body", "country_code"]),
        ):
            with self.subTest(loc[-1]):
                response = self.post("/registrants", payload)
                self.assertEqual(response.status_code, 422, response.text)
                self.assertEqual(response.json()["detail"][0]["loc"], loc)
        self.assertFalse(
            self.partner("RVAPI-T1")
            | self.partner("RVAPI-T2")
            | self.partner("RVAPI-T3")
            | self.partner("RVAPI-T4")
        )
        # Spaces are still removed.
        created = self.post_registrant(self.person(" RVAPI-T5 ", "  five "))
        self.assertEqual(
            (created["functional_id"], created["name"]), ("RVAPI-T5", "five")
        )

    def test_a_path_key_with_a_control_character_at_the_end_is_422(self):
        self.post_registrant(self.person("RVAPI-T6"))
        self.assertEqual(
            self.get("/registrants/by-functional-id/RVAPI-T6").status_code, 200
        )
        for suffix in ("%09", "%E2%80%A8"):
            with self.subTest(suffix):
                response = self.get("/registrants/by-functional-id/RVAPI-T6" + suffix)
                self.assertEqual(response.status_code, 422, response.text)
