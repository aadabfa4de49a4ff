"""A development SMTP sink: every message sent to it is saved in the outbox folder as a .eml file.

`flask up` starts it on MAIL_PORT so the app sends mail exactly as in production (over SMTP),
and a newcomer opens the .eml files in any mail program. Nothing is ever delivered.
"""

from __future__ import annotations

import socket
from collections.abc import Callable
from datetime import UTC, datetime
from email.parser import BytesParser
from email.policy import default as default_policy
from pathlib import Path
from uuid import uuid4

from aiosmtpd.controller import Controller


class OutboxHandler:
    """An aiosmtpd handler that writes each message into `outbox` and accepts it."""

    def __init__(self, outbox: Path, announce: Callable[[str], None] | None = None) -> None:
        self.outbox = outbox
        self.announce = announce

    async def handle_DATA(self, server, session, envelope) -> str:  # noqa: N802 - aiosmtpd hook
        content = envelope.original_content or envelope.content
        path = self.save(envelope.mail_from, list(envelope.rcpt_tos), content)
        if self.announce is not None:
            headers = BytesParser(policy=default_policy).parsebytes(content, headersonly=True)
            self.announce(f"mail to {', '.join(envelope.rcpt_tos)}: "
                          f"{headers['subject'] or '(no subject)'} -> {path}")
        return "250 Message accepted for delivery"

    def save(self, sender: str, recipients: list[str], content: bytes) -> Path:
        """Write one message, with its envelope as headers (Bcc recipients show only there).

        It is written under a temporary name and renamed, so a reader never sees half a file.
        """
        self.outbox.mkdir(parents=True, exist_ok=True)
        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S%fZ")
        path = self.outbox / f"{stamp}-{uuid4().hex[:8]}.eml"
        envelope = (f"X-Envelope-From: {sender}\r\n"
                    f"X-Envelope-To: {', '.join(recipients)}\r\n").encode()
        partial = path.with_suffix(".part")
        partial.write_bytes(envelope + content)
        partial.replace(path)
        return path


def start_sink(outbox: Path, host: str = "127.0.0.1", port: int = 8025,
               announce: Callable[[str], None] | None = None) -> Controller:
    """Start the sink in a background thread; call `.stop()` on the result to end it.

    Raises OSError when the port is taken (another sink may already be running).
    """
    _check_free(host, port)
    outbox.mkdir(parents=True, exist_ok=True)
    controller = Controller(OutboxHandler(outbox, announce), hostname=host, port=port)
    controller.start()
    return controller


def _check_free(host: str, port: int) -> None:
    """Raise OSError now if the port is taken: aiosmtpd would only time out after seconds."""
    with socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET) as probe:
        # The same option asyncio's server sets, so a port in TIME_WAIT counts as free.
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        probe.bind((host, port))
