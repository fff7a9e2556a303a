"""SMS and WhatsApp through Twilio: signed webhooks in, TwiML answers, REST client out."""

from __future__ import annotations

import json
import logging
import os
import threading
from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any
from urllib.parse import urlencode, urlsplit

import urllib3
from certifi import where
from requests.utils import get_environ_proxies
from twilio.base.exceptions import TwilioRestException
from twilio.http import HttpClient
from twilio.http.response import Response
from twilio.request_validator import RequestValidator
from twilio.rest import Client
from twilio.twiml.messaging_response import MessagingResponse

from bot.channels.base import PermanentSendError, TransientSendError
from bot.messages import Inbound, Outbound

log = logging.getLogger(__name__)
# Twilio's client logs a dozen INFO lines per request (headers included): with the worker's INFO
# log that is most of its output and a good part of its CPU per message. Warnings still show.
logging.getLogger("twilio.http_client").setLevel(logging.WARNING)

SIGNATURE_HEADER = "X-Twilio-Signature"
WHATSAPP_PREFIX = "whatsapp:"
# https://www.twilio.com/docs/api/errors
OPTED_OUT_CODES = frozenset({21610})
UNREACHABLE_CODES = frozenset({21211, 21612, 21614, 21408, 63003})
TRANSIENT_CODES = frozenset({20429, 30001, 20500, 20503})
SEND_TIMEOUT_SECONDS = 10


def signature_is_valid(auth_token: str, url: str, params: Any, signature: str | None) -> bool:
    """Check X-Twilio-Signature over the exact URL Twilio called and every posted parameter."""
    if not auth_token or not signature:
        return False
    return bool(RequestValidator(auth_token).validate(url, params, signature))


def channel_of(address: str) -> str:
    """'whatsapp' for whatsapp:+… addresses, otherwise 'sms'."""
    return "whatsapp" if address.startswith(WHATSAPP_PREFIX) else "sms"


def parse_inbound(form: Mapping[str, str], received_at: datetime) -> Inbound:
    """Turn a Twilio Messaging webhook body into an Inbound; raises KeyError if it is not one."""
    sid = form.get("MessageSid") or form.get("SmsMessageSid") or form.get("SmsSid")
    sender = form.get("From")
    if not sid or not sender:
        raise KeyError("MessageSid and From are required")
    try:
        media_count = int(form.get("NumMedia") or 0)
    except ValueError:
        media_count = 0
    media = tuple(
        form[f"MediaUrl{n}"] for n in range(min(media_count, 10)) if form.get(f"MediaUrl{n}")
    )
    return Inbound(
        channel=channel_of(sender),
        address=sender,
        text=form.get("Body", ""),
        external_id=sid,
        received_at=received_at,
        raw=dict(form),
        media=media,
        to=form.get("To"),
    )


def twiml(replies: Iterable[Outbound]) -> str:
    """A TwiML answer carrying the replies; empty `<Response/>` sends nothing."""
    response = MessagingResponse()
    for reply in replies:
        response.message(reply.text)
    return str(response)


TWILIO_API = "https://api.twilio.com"


class _OutboxHttpClient(HttpClient):
    """Twilio's HTTP client interface on urllib3 directly, one keep-alive connection per client.

    The twilio `Client` still builds every request and reads every answer (an error answer
    raises `TwilioRestException` as usual); only the transport differs from twilio's own
    `TwilioHttpClient`, whose trip through `requests` (merging session settings, hooks and
    cookies, checking the CA path) would be half of a sending thread's CPU per message
    (bench/fanout.py measures the sender).

    - The environment's proxy (HTTPS_PROXY, NO_PROXY) and CA bundle (REQUESTS_CA_BUNDLE,
      CURL_CA_BUNDLE) are read once, for the one host it calls, as `requests` would read them.
    - The body is form-encoded as `requests` encodes it: lists repeat their key, None is left out.
    - Its request and response log lines are only formatted when INFO is on for its logger.
    - With `base_url` (TWILIO_API_BASE_URL), requests go there instead of api.twilio.com.
    """

    def __init__(self, base_url: str = "", timeout: float | None = None) -> None:
        super().__init__(logging.getLogger("twilio.http_client"), False, timeout)
        self._base_url = base_url.rstrip("/")
        target = self._base_url or TWILIO_API
        proxies = get_environ_proxies(target)
        self.proxy = proxies.get(urlsplit(target).scheme) or proxies.get("all")
        ca_bundle = (
            os.environ.get("REQUESTS_CA_BUNDLE") or os.environ.get("CURL_CA_BUNDLE") or where()
        )
        options: dict[str, Any] = {"maxsize": 1, "ca_certs": ca_bundle, "retries": False}
        self.pool: urllib3.PoolManager = (
            urllib3.ProxyManager(self.proxy, **options)
            if self.proxy
            else urllib3.PoolManager(**options)
        )

    def request(
        self,
        method: str,
        uri: str,
        params: dict[str, object] | None = None,
        data: dict[str, object] | None = None,
        headers: dict[str, str] | None = None,
        auth: tuple[str, str] | None = None,
        timeout: float | None = None,
        allow_redirects: bool = False,
    ) -> Response:
        if timeout is None:
            timeout = self.timeout
        elif timeout <= 0:
            raise ValueError(timeout)
        if self._base_url and uri.startswith(TWILIO_API):
            uri = self._base_url + uri[len(TWILIO_API) :]
        if params:
            uri += ("&" if "?" in uri else "?") + urlencode(_pairs(params))
        headers = dict(headers or {})
        body: bytes | None = None
        if headers.get("Content-Type") in ("application/json", "application/scim+json"):
            body = None if data is None else json.dumps(data).encode()
        elif data:
            body = urlencode(_pairs(data)).encode()
            headers.setdefault("Content-Type", "application/x-www-form-urlencoded")
        if auth is not None:
            headers.update(urllib3.make_headers(basic_auth=f"{auth[0]}:{auth[1]}"))
        if self.logger.isEnabledFor(logging.INFO):
            self.log_request({"method": method, "url": uri, "params": None, "headers": headers})
        answer = self.pool.request(
            method.upper(),
            uri,
            body=body,
            headers=headers,
            timeout=timeout,
            redirect=allow_redirects,
        )
        response = Response(answer.status, answer.data.decode("utf-8", "replace"), answer.headers)
        if self.logger.isEnabledFor(logging.INFO):
            self.logger.info("Response Status Code: %s", answer.status)
        return response


def _pairs(values: Mapping[str, object]) -> list[tuple[str, str]]:
    """Form pairs as `requests` makes them: a list repeats its key; None is left out."""
    pairs = []
    for key, value in values.items():
        for one in value if isinstance(value, list | tuple) else [value]:
            if one is not None:
                pairs.append((key, str(one)))
    return pairs


class TwilioSender:
    """Sends SMS and WhatsApp messages with Twilio's REST client."""

    channel = "sms"

    def __init__(
        self,
        account_sid: str,
        auth_token: str,
        sender: str,
        api_base_url: str = "",
        status_callback: str | None = None,
    ) -> None:
        self._credentials = (account_sid, auth_token)
        self._api_base_url = api_base_url
        self._local = threading.local()
        self.sender = sender
        self.status_callback = status_callback

    @property
    def client(self) -> Client:
        """This thread's Twilio client: each sending thread keeps its own connection alive."""
        client: Client | None = getattr(self._local, "client", None)
        if client is None:
            http_client = _OutboxHttpClient(self._api_base_url, timeout=SEND_TIMEOUT_SECONDS)
            client = self._local.client = Client(*self._credentials, http_client=http_client)
        return client

    def prepare_thread(self) -> None:
        """Build this thread's client, and import its Messages API, before its first send."""
        _ = self.client.messages

    def send(self, outbound: Outbound) -> str | None:
        """Send one message; map Twilio's errors to transient or permanent failures."""
        kwargs: dict[str, Any] = {"to": outbound.address, "body": outbound.text}
        if self.sender.startswith("MG"):
            kwargs["messaging_service_sid"] = self.sender
        elif outbound.address.startswith(WHATSAPP_PREFIX) and not self.sender.startswith(
            WHATSAPP_PREFIX
        ):
            kwargs["from_"] = WHATSAPP_PREFIX + self.sender
        else:
            kwargs["from_"] = self.sender
        if self.status_callback:
            kwargs["status_callback"] = self.status_callback
        try:
            message = self.client.messages.create(**kwargs)
        except TwilioRestException as exc:
            raise _classify(exc) from exc
        except Exception as exc:  # network trouble: timeouts, refused connections
            raise TransientSendError(f"twilio: {type(exc).__name__}: {exc}") from exc
        return message.sid


def _classify(exc: TwilioRestException) -> Exception:
    code = exc.code or 0
    if code in OPTED_OUT_CODES:
        return PermanentSendError(f"twilio {code}: recipient opted out", "opted_out")
    if code in UNREACHABLE_CODES:
        return PermanentSendError(f"twilio {code}: {exc.msg}", "unreachable")
    if code in TRANSIENT_CODES or exc.status in (429,) or exc.status >= 500:
        return TransientSendError(f"twilio {code or exc.status}: {exc.msg}")
    return PermanentSendError(f"twilio {code or exc.status}: {exc.msg}", None)
