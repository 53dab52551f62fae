"""Servers on loopback: ``free_port`` and ``SmtpServer``, a real SMTP server (aiosmtpd) that
records what it receives and can refuse on purpose."""

from __future__ import annotations

import socket

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope, Session


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class SmtpServer:
    """A real SMTP server on loopback that records what it receives and can refuse on purpose."""

    def __init__(self) -> None:
        self.messages: list[Envelope] = []
        self.refuse_next = 0
        self.controller = Controller(self, hostname="127.0.0.1", port=free_port())

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        if self.refuse_next > 0:
            self.refuse_next -= 1
            return "451 4.3.0 try again later"
        self.messages.append(envelope)
        return "250 OK"

    @property
    def port(self) -> int:
        return int(self.controller.port)

    def texts(self) -> list[str]:
        return [bytes(m.content).decode("utf-8", "replace") for m in self.messages]
