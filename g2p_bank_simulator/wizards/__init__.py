from . import g2p_sim_deposit_wizard
