from psycopg2.extensions import ISOLATION_LEVEL_READ_COMMITTED, TRANSACTION_STATUS_IDLE


def read_committed(cr):
    """Run the transaction about to start on ``cr`` under READ COMMITTED; False when
    it has started already (its isolation can no longer change: tests, or a caller
    that queried first). Odoo sets REPEATABLE READ again on the connection's next
    cursor.

    For work that waits for rows other transactions change all the time: the bank's
    jobs and its app's requests (a funding account's row, while block_funds changes
    its balances), the payment batch steps that call the bank (its fund block, while
    the bank pays the previous chunk). Under Odoo's REPEATABLE READ such a
    transaction fails as soon as the other one commits: a request is retried after
    sleeping, a job 5 s later, each time with an ERROR in the log, and under steady
    traffic on the account a batch waited for long. Under READ COMMITTED the locking
    statement waits, then reads the committed row. Callers must lock the rows they
    decide on (or update conditionally): then the outcome is exact.
    """
    connection = cr.connection
    if connection.info.transaction_status != TRANSACTION_STATUS_IDLE:
        return False
    connection.set_isolation_level(ISOLATION_LEVEL_READ_COMMITTED)
    return True
