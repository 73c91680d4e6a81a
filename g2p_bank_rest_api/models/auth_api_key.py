from odoo import models


class AuthApiKey(models.Model):
    _inherit = "auth.api.key"

    # OCA caches which user a key stands for and clears the cache only when a key's
    # value or user changes: an archived or deleted key went on working until the
    # next restart.
    def write(self, vals):
        result = super().write(vals)
        if "active" in vals:
            self._clear_key_cache()
        return result

    def unlink(self):
        result = super().unlink()
        self._clear_key_cache()
        return result
