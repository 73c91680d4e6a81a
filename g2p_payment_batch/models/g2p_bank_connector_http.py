import json
import logging
import re
import time
from decimal import Decimal

import requests

from odoo import api, models

from .g2p_bank_connector import G2PBankConnectorError

_logger = logging.getLogger(__name__)

#: Longest pause between two attempts, in seconds.
MAX_BACKOFF = 10
DECIMAL_RE = re.compile(r'"__DEC__(-?[0-9]+(?:\.[0-9]+)?)__"')


class G2PBankConnectorHttp(models.AbstractModel):
    """A bank speaking ``shared/contracts/example-bank-api.md`` over HTTP (this
    suite's bank app or another bank): ``requests`` with a timeout, repeated with a
    growing pause on network errors and 5xx answers, ``"failed"`` answers turned
    into clear errors."""

    _name = "g2p.bank.connector.http"
    _description = "Bank connector: example-bank HTTP API"

    @api.model
    def _request(self, connector, method, path, payload=None):
        connector = connector.sudo()  # the API key is for managers' eyes only
        url = connector.base_url.rstrip("/") + path
        headers = {"Accept": "application/json"}
        if connector.api_key:
            headers["HTTP-API-KEY"] = connector.api_key
        data = None
        if payload is not None:
            headers["Content-Type"] = "application/json"
            data = self._dumps(payload)
        attempt = 0
        while True:
            try:
                response = requests.request(
                    method, url, data=data, headers=headers, timeout=connector.timeout
                )
            except requests.RequestException as error:
                problem = str(error)
            else:
                if response.status_code < 500:
                    return response
                problem = f"HTTP {response.status_code}: {response.text[:200]}"
            if attempt >= connector.retries:
                raise G2PBankConnectorError(
                    "UNREACHABLE",
                    self.env._(
                        "The bank at %(url)s did not answer after %(n)s attempts: "
                        "%(problem)s",
                        url=url,
                        n=attempt + 1,
                        problem=problem,
                    ),
                )
            attempt += 1
            _logger.info("%s %s: %s, attempt %s", method, url, problem, attempt + 1)
            time.sleep(min(0.5 * 2**attempt, MAX_BACKOFF))

    @api.model
    def _dumps(self, payload):
        # Amounts as exact JSON numbers, never through float arithmetic.
        def encode(value):
            if isinstance(value, Decimal):
                return f"__DEC__{value}__"
            raise TypeError(f"{value!r} is not JSON serialisable")

        text = json.dumps(payload, default=encode)
        return DECIMAL_RE.sub(r"\1", text).encode()

    @api.model
    def _post(self, connector, path, payload):
        """POST a contract call; its JSON answer when ``status`` is success."""
        response = self._request(connector, "POST", path, payload)
        body = self._json(response)
        if response.status_code >= 400 or body.get("status") != "success":
            detail = body.get("detail")
            if isinstance(detail, dict):
                code, message = detail.get("code"), detail.get("message")
            else:
                code = body.get("error_code")
                message = body.get("error_message") or detail
            raise G2PBankConnectorError(
                code or "BANK_ERROR",
                self.env._(
                    "The bank refused %(path)s: %(message)s",
                    path=path,
                    message=message or response.text[:300],
                ),
            )
        return body

    @api.model
    def _json(self, response):
        try:
            body = response.json()
        except ValueError:
            body = None
        if not isinstance(body, dict):
            raise G2PBankConnectorError(
                "BAD_ANSWER",
                self.env._(
                    "The bank answered %(code)s with something that is not a JSON "
                    "object: %(text)s",
                    code=response.status_code,
                    text=response.text[:300],
                ),
            )
        return body

    @api.model
    def _check_funds(self, connector, account, currency, amount):
        payload = {
            "account_number": account,
            "account_currency": currency,
            "total_funds_needed": amount,
        }
        try:
            self._post(connector, "/check_funds", payload)
        except G2PBankConnectorError as error:
            if error.code == "INSUFFICIENT_FUNDS":
                return False
            raise
        return True

    @api.model
    def _block_funds(self, connector, account, currency, amount, reference):
        # The contract has no reference for blocks; it is sent anyway (banks ignore
        # unknown keys) for banks that use it as an idempotency key.
        payload = {
            "account_number": account,
            "currency": currency,
            "amount": amount,
            "block_reference_no": reference,
        }
        return self._post(connector, "/block_funds", payload)["block_reference_no"]

    @api.model
    def _release_block(self, connector, reference):
        payload = {"block_reference_no": reference}
        return self._post(connector, "/release_block", payload)["block_reference_no"]

    @api.model
    def _initiate_payment(self, connector, payment_dicts):
        body = self._post(connector, "/initiate_payment", payment_dicts)
        return body.get("batch_id") or ""

    @api.model
    def _request_statement(self, connector, account):
        payload = {"program_account_number": account}
        body = self._post(connector, "/generate_account_statement", payload)
        return body["account_statement_id"]

    @api.model
    def _fetch_statement(self, connector, statement_id):
        response = self._request(connector, "GET", f"/statements/{statement_id}/mt940")
        if response.status_code == 409:
            # STATEMENT_NOT_READY: pending or processing, unless the bank failed.
            status = self._request(connector, "GET", f"/statements/{statement_id}")
            if self._json(status).get("state") == "failed":
                raise G2PBankConnectorError(
                    "STATEMENT_FAILED",
                    self.env._(
                        "The bank could not write statement %(s)s: %(e)s",
                        s=statement_id,
                        e=self._json(status).get("error"),
                    ),
                )
            return None
        if response.status_code != 200:
            raise G2PBankConnectorError(
                "STATEMENT_NOT_FOUND",
                self.env._(
                    "The bank answered %(code)s for statement %(s)s: %(text)s",
                    code=response.status_code,
                    s=statement_id,
                    text=response.text[:300],
                ),
            )
        return response.text

    @api.model
    def _list_statements(self, connector, account):
        # The contract has no listing: the bank pushes its own statements to the
        # connector's upload URL.
        return []
