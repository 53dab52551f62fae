"""Delivery backends: the console (development) and SMTP (production and the tests)."""

from __future__ import annotations

import hashlib
import json
import logging
from email.message import EmailMessage
from email.utils import format_datetime

import aiosmtplib

from facilities.notifications.services import PermanentFailure, Sender
from facilities.notifications.tables import Notification
from facilities.settings import Settings

log = logging.getLogger(__name__)


def build_message(notification: Notification, mail_from: str) -> EmailMessage:
    """The MIME message; its Message-ID depends only on the row, so a resend keeps it."""
    message = EmailMessage()
    message["From"] = mail_from
    message["To"] = notification.to_address
    message["Subject"] = notification.subject
    message["Date"] = format_datetime(notification.created_at)
    domain = mail_from.rpartition("@")[2] or "localhost"
    key_hash = hashlib.sha256(notification.dedupe_key.encode()).hexdigest()[:16]
    message["Message-ID"] = f"<notification-{notification.id}.{key_hash}@{domain}>"
    headers = notification.headers
    for name, value in (json.loads(headers) if isinstance(headers, str) else headers).items():
        message[name] = value
    message.set_content(notification.body_text)
    if notification.body_html:
        message.add_alternative(notification.body_html, subtype="html")
    return message


class ConsoleSender:
    """Prints messages to the log: what ``make run`` uses, so nothing leaves the machine."""

    def __init__(self, mail_from: str) -> None:
        self.mail_from = mail_from

    async def send(self, message: Notification) -> None:
        log.info("e-mail (console backend):\n%s", build_message(message, self.mail_from))


class SmtpSender:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings

    async def send(self, message: Notification) -> None:
        s = self.settings
        try:
            await aiosmtplib.send(
                build_message(message, s.mail_from),
                hostname=s.smtp_host,
                port=s.smtp_port,
                username=s.smtp_user or None,
                password=s.smtp_password or None,
                use_tls=s.smtp_security == "tls",
                start_tls=s.smtp_security == "starttls",
                timeout=s.smtp_timeout,
            )
        except aiosmtplib.SMTPRecipientsRefused as exc:
            if all(r.code >= 500 for r in exc.recipients):
                raise PermanentFailure(str(exc)) from exc
            raise
        except aiosmtplib.SMTPResponseException as exc:
            if exc.code >= 500:
                raise PermanentFailure(f"{exc.code} {exc.message}") from exc
            raise


def sender_for(settings: Settings) -> Sender:
    if settings.email_backend == "smtp":
        return SmtpSender(settings)
    return ConsoleSender(settings.mail_from)
