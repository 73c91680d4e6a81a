from . import res_bank
from . import g2p_group_membership
from . import res_partner
from . import g2p_bank_account_audit
from . import g2p_bank_account_primary
from . import g2p_bank_account_number
from . import res_partner_bank
from . import g2p_bank_account_upsert
