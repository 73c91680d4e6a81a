from odoo import SUPERUSER_ID, api


def migrate(cr, version):
    """Since 18.0.1.2.0 a dead job is told by its free liveness lock, not by its age:
    the cron that requeues dead jobs runs every minute (it ran every 5; its record is
    noupdate)."""
    env = api.Environment(cr, SUPERUSER_ID, {})
    cron = env.ref("g2p_bank_simulator.ir_cron_requeue_dead_jobs", False)
    if cron:
        cron.write({"interval_number": 1, "interval_type": "minutes"})
