from odoo import _, api, fields, models
from odoo.exceptions import ValidationError


class G2pGroupMembership(models.Model):
    _name = "g2p.group.membership"
    _description = "Group membership"
    _order = "group_id, is_head desc, id"
    _rec_name = "individual_id"

    group_id = fields.Many2one(
        "res.partner",
        required=True,
        index=True,
        ondelete="cascade",
        domain=[("is_registrant", "=", True), ("is_group", "=", True)],
    )
    individual_id = fields.Many2one(
        "res.partner",
        string="Member",
        required=True,
        index=True,
        ondelete="cascade",
        domain=[("is_registrant", "=", True), ("is_group", "=", False)],
    )
    is_head = fields.Boolean(string="Head of group")
    individual_functional_id = fields.Char(
        related="individual_id.g2p_functional_id", string="Member functional ID"
    )

    _sql_constraints = [
        (
            "group_individual_uniq",
            "unique(group_id, individual_id)",
            "This person is already a member of the group.",
        ),
    ]

    @api.constrains("group_id", "individual_id")
    def _check_member_kinds(self):
        for membership in self:
            if not (membership.group_id.is_registrant and membership.group_id.is_group):
                raise ValidationError(
                    _(
                        "%(name)s is not a registered group: only groups have members.",
                        name=membership.group_id.display_name,
                    )
                )
            individual = membership.individual_id
            if not individual.is_registrant or individual.is_group:
                raise ValidationError(
                    _(
                        "%(name)s cannot be a member of %(group)s: members must be "
                        "registered individuals, not groups or other contacts.",
                        name=individual.display_name,
                        group=membership.group_id.display_name,
                    )
                )

    @api.constrains("group_id", "is_head")
    def _check_one_head(self):
        heads = self._read_group(
            [("group_id", "in", self.group_id.ids), ("is_head", "=", True)],
            ["group_id"],
            ["__count"],
        )
        for group, count in heads:
            if count > 1:
                raise ValidationError(
                    _(
                        "The group %(group)s can have only one head: untick "
                        "'Head of group' on the other member first.",
                        group=group.display_name,
                    )
                )
