"""Statutory interest rates an admin added on top of the shipped table."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import Numeric, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from portal.models.base import Base, utcnow


class InterestRate(Base):
    __tablename__ = "interest_rates"
    __table_args__ = (UniqueConstraint("kind", "valid_from", name="uq_interest_rates_kind_from"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(20))  # consumer | commercial
    valid_from: Mapped[date]
    rate_percent: Mapped[Decimal] = mapped_column(Numeric(6, 3))
    source: Mapped[str] = mapped_column(String(300))
    verified: Mapped[bool] = mapped_column(default=False)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
