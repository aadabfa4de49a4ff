"""Staff and client users; debtors sign in differently (see portal.services.debtor_access)."""

from __future__ import annotations

import hashlib
from datetime import datetime

from flask_login import UserMixin
from sqlalchemy import CheckConstraint, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from portal.models.base import Base, StrEnum, enum_type, utcnow
from portal.models.client import Client


class Role(StrEnum):
    ADMIN = "admin"
    SUPERVISOR = "supervisor"
    CALLER = "caller"
    CLIENT = "client"


STAFF_ROLES = frozenset({Role.ADMIN, Role.SUPERVISOR, Role.CALLER})


class User(UserMixin, Base):
    __tablename__ = "users"
    __table_args__ = (
        # A client user belongs to exactly one client; staff to none.
        CheckConstraint(
            "(role = 'client') = (client_id IS NOT NULL)", name="client_user_has_client"
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(254), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    password_hash: Mapped[str] = mapped_column(String(255))
    role: Mapped[Role] = mapped_column(enum_type(Role))
    client_id: Mapped[int | None] = mapped_column(ForeignKey("clients.id"), index=True)
    language: Mapped[str] = mapped_column(String(5), default="nl")
    active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_login_at: Mapped[datetime | None]

    client: Mapped[Client | None] = relationship()

    @property
    def is_active(self) -> bool:  # Flask-Login refuses inactive users
        return self.active

    @property
    def password_fingerprint(self) -> str:
        """Changes with the password: sessions and reset links made before a change stop working."""
        return hashlib.sha256(self.password_hash.encode()).hexdigest()[:16]

    def get_id(self) -> str:  # what Flask-Login keeps in the session
        return f"{self.id}.{self.password_fingerprint}"

    @property
    def is_staff(self) -> bool:
        return self.role in STAFF_ROLES

    def __repr__(self) -> str:
        return f"<User {self.id} {self.email} {self.role}>"
