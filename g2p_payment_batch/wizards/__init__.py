from . import g2p_payment_add_registrants
from . import g2p_payment_import_csv
