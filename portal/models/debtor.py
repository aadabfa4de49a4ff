"""The debtor: a person or a business that owes one or more clients."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import String, false
from sqlalchemy.orm import Mapped, mapped_column

from portal.models.base import Base, StrEnum, enum_type, utcnow


class DebtorKind(StrEnum):
    PERSON = "person"  # a consumer: the BIK scale and the 14-day letter apply
    BUSINESS = "business"


class Debtor(Base):
    __tablename__ = "debtors"

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[DebtorKind] = mapped_column(enum_type(DebtorKind))
    name: Mapped[str] = mapped_column(String(200), index=True)
    contact_person: Mapped[str | None] = mapped_column(String(200))
    email: Mapped[str | None] = mapped_column(String(254))
    phone: Mapped[str | None] = mapped_column(String(40))
    address_line: Mapped[str | None] = mapped_column(String(200))
    postal_code: Mapped[str | None] = mapped_column(String(20))
    city: Mapped[str | None] = mapped_column(String(100))
    country: Mapped[str] = mapped_column(String(2), default="NL")
    language: Mapped[str] = mapped_column(String(5), default="nl")
    timezone: Mapped[str] = mapped_column(String(64), default="Europe/Amsterdam")
    # Contact flags, checked where contact happens (at send time and at dial time).
    # (server defaults: existing rows get a value when the columns are added)
    do_not_contact: Mapped[bool] = mapped_column(default=False, server_default=false())
    do_not_call: Mapped[bool] = mapped_column(default=False, server_default=false())
    email_bounced: Mapped[bool] = mapped_column(default=False, server_default=false())
    # A caller found the number wrong: no more calls to it until someone enters a new one.
    phone_invalid: Mapped[bool] = mapped_column(default=False, server_default=false())
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    @property
    def is_consumer(self) -> bool:
        return self.kind == DebtorKind.PERSON

    def __repr__(self) -> str:
        return f"<Debtor {self.id} {self.name!r}>"
