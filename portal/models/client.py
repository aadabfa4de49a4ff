"""The client: the creditor business on whose behalf the agency collects."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, String, Text, text, true
from sqlalchemy.orm import Mapped, mapped_column

from portal.models.base import Base, StrEnum, enum_type, utcnow


class ApprovalBy(StrEnum):
    """Who approves an instalment proposal outside the client's policy."""

    AGENCY = "agency"
    AGENCY_AND_CLIENT = "agency_and_client"


class Beneficiary(StrEnum):
    """Who keeps a bucket of what a debtor paid: passed on to the client or kept by the agency."""

    CLIENT = "client"
    AGENCY = "agency"


class Client(Base):
    __tablename__ = "clients"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    email: Mapped[str | None] = mapped_column(String(254))
    phone: Mapped[str | None] = mapped_column(String(40))
    address: Mapped[str | None] = mapped_column(String(400))
    iban: Mapped[str | None] = mapped_column(String(34))
    # The creditor cannot deduct VAT: VAT is then added to collection costs (BIK).
    charges_vat_on_costs: Mapped[bool] = mapped_column(default=False)
    active: Mapped[bool] = mapped_column(default=True)

    # The collection policy: what a debtor may pay online and agree without asking anyone.
    # (server defaults: existing clients get the agency's usual policy)
    min_payment_cents: Mapped[int] = mapped_column(default=1000, server_default=text("1000"))
    max_instalments: Mapped[int] = mapped_column(default=12, server_default=text("12"))
    min_instalment_cents: Mapped[int] = mapped_column(default=2500, server_default=text("2500"))
    max_arrangement_months: Mapped[int] = mapped_column(default=12, server_default=text("12"))
    down_payment_percent: Mapped[int] = mapped_column(default=0, server_default=text("0"))
    auto_accept_arrangements: Mapped[bool] = mapped_column(default=True, server_default=true())
    arrangement_approval: Mapped[ApprovalBy] = mapped_column(
        enum_type(ApprovalBy), default=ApprovalBy.AGENCY, server_default=ApprovalBy.AGENCY.value
    )
    instalment_grace_days: Mapped[int] = mapped_column(default=7, server_default=text("7"))
    max_missed_instalments: Mapped[int] = mapped_column(default=2, server_default=text("2"))
    instalment_reminder_days: Mapped[int] = mapped_column(default=3, server_default=text("3"))
    # New cases owing at least this much go straight to the call team (None: none do).
    call_new_cases_from_cents: Mapped[int | None]
    # Status reports: how often, and to whom (addresses separated by commas or new lines).
    report_frequency: Mapped[str] = mapped_column(String(10), default="monthly",
                                                  server_default="monthly")
    report_recipients: Mapped[str | None] = mapped_column(Text)
    # The column mapping of the last upload, offered again for the next one.
    import_mapping: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    # Commission terms, read by each remittance run (which keeps a copy of the terms it used):
    # a share of the principal collected, in hundredths of a percent (1500 = 15 %), VAT on that
    # commission, and who keeps the interest and the collection costs (and other fees).
    commission_bp: Mapped[int] = mapped_column(default=1500, server_default=text("1500"))
    commission_vat_percent: Mapped[int] = mapped_column(default=21, server_default=text("21"))
    interest_to: Mapped[Beneficiary] = mapped_column(
        enum_type(Beneficiary), default=Beneficiary.CLIENT, server_default=Beneficiary.CLIENT.value
    )
    costs_to: Mapped[Beneficiary] = mapped_column(
        enum_type(Beneficiary), default=Beneficiary.AGENCY, server_default=Beneficiary.AGENCY.value
    )
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    def __repr__(self) -> str:
        return f"<Client {self.id} {self.name!r}>"
