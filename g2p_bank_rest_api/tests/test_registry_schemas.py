from extendable import context
from extendable.registry import ExtendableClassesRegistry

from odoo.tests import tagged

from ..schemas.registry import RegistrantIn, RegistrantOut
from .registry_common import RegistryApiCase

#: The module another addon's schema extensions would live in.
OTHER_ADDON = "odoo.addons.g2p_registry_schema_extension_test.schemas"


@tagged("post_install", "-at_install")
class TestExtendableSchemas(RegistryApiCase):
    """Another addon adds a field to the registry schemas without forking them."""

    def setUp(self):
        super().setUp()
        self.backup_extendable_registry()
        self.addCleanup(self.restore_extendable_registry)

        class RegistrantInWithRef(RegistrantIn, extends=True):
            __module__ = OTHER_ADDON
            ref: str | None = None

            def to_res_partner_vals(self):
                vals = super().to_res_partner_vals()
                if "ref" in self.model_fields_set:
                    vals["ref"] = self.ref
                return vals

        class RegistrantOutWithRef(RegistrantOut, extends=True):
            __module__ = OTHER_ADDON
            ref: str | None = None

            @classmethod
            def from_res_partner(cls, partner):
                result = super().from_res_partner(partner)
                result.ref = partner.ref or None
                return result

        # Only this test's registry knows the extension (the app's does not).
        registry = ExtendableClassesRegistry()
        registry.init_registry(["odoo.addons.g2p_bank_rest_api.*", f"{OTHER_ADDON}"])
        token = context.extendable_registry.set(registry)
        self.addCleanup(context.extendable_registry.reset, token)

    def test_an_extension_adds_a_field_in_and_out(self):
        data = RegistrantIn.model_validate(
            {"functional_id": "T-EXT-1", "name": "Extended", "ref": "R-42"}
        )
        helper = self.api_env["g2p.registry.api.router.helper"]
        out = helper.create_registrant(data)
        self.assertEqual(self.partner("T-EXT-1").ref, "R-42")
        self.assertEqual(out.ref, "R-42")
        self.assertEqual(out.model_dump()["functional_id"], "T-EXT-1")
