from odoo import api, models


class ResLang(models.Model):
    _inherit = "res.lang"

    @api.model
    def _get_lang_from_accept_language(self, accept_language):
        """The language of a request to a FastAPI app, from its Accept-Language
        header (OCA fastapi). A malformed header (a quality that is no number, a
        header too long) makes the parser raise, which answered 500 whatever the
        request: the request is then served in the default language instead."""
        try:
            return super()._get_lang_from_accept_language(accept_language)
        except ValueError:
            return None
