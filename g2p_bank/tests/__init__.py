from . import test_access
from . import test_audit
from . import test_bank_account
from . import test_bank_lookup
from . import test_primary
from . import test_registrant
from . import test_views
from . import test_account_upsert
