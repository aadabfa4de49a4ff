"""All models, importable from one place (Alembic and the services use this)."""

from portal.models.arrangement import (
    Arrangement,
    ArrangementStatus,
    Instalment,
    InstalmentStatus,
)
from portal.models.audit import ActorKind, AuditEvent
from portal.models.base import Base, utcnow
from portal.models.calls import (
    OPEN_TASK_STATUSES,
    UNANSWERED,
    CallLog,
    CallOutcome,
    CallScript,
    CallTask,
    NonPaymentReason,
    PromiseStatus,
    PromiseToPay,
    Setting,
    TaskReason,
    TaskStatus,
)
from portal.models.case import OPEN_STATUSES, Case, CaseStatus, Invoice, ReferenceCounter
from portal.models.client import ApprovalBy, Client
from portal.models.communication import (
    Communication,
    DeliveryStatus,
    Document,
    DocumentKind,
    Notice,
)
from portal.models.debtor import Debtor, DebtorKind
from portal.models.dispute import (
    Dispute,
    DisputeOutcome,
    DisputeReason,
    DisputeStatus,
    Message,
    Party,
)
from portal.models.dunning import (
    BatchChunk,
    BatchRun,
    Channel,
    MessageTemplate,
    RunStatus,
    StepAction,
    Workflow,
    WorkflowStep,
)
from portal.models.ledger import (
    ALLOCATION_ORDER,
    Bucket,
    EntryCause,
    LedgerEntry,
    LedgerIsAppendOnly,
)
from portal.models.payment import FINAL_PAYMENT_STATUSES, Payment, PaymentStatus
from portal.models.rates import InterestRate
from portal.models.user import STAFF_ROLES, Role, User

__all__ = [
    "OPEN_TASK_STATUSES",
    "UNANSWERED",
    "CallLog",
    "CallOutcome",
    "CallScript",
    "CallTask",
    "NonPaymentReason",
    "PromiseStatus",
    "PromiseToPay",
    "Setting",
    "TaskReason",
    "TaskStatus",
    "FINAL_PAYMENT_STATUSES",
    "ApprovalBy",
    "Arrangement",
    "ArrangementStatus",
    "Dispute",
    "DisputeOutcome",
    "DisputeReason",
    "DisputeStatus",
    "Instalment",
    "InstalmentStatus",
    "Message",
    "Party",
    "Payment",
    "PaymentStatus",
    "BatchChunk",
    "BatchRun",
    "Channel",
    "Communication",
    "DeliveryStatus",
    "Document",
    "DocumentKind",
    "MessageTemplate",
    "Notice",
    "RunStatus",
    "StepAction",
    "Workflow",
    "WorkflowStep",
    "ALLOCATION_ORDER",
    "OPEN_STATUSES",
    "STAFF_ROLES",
    "ActorKind",
    "AuditEvent",
    "Base",
    "Bucket",
    "Case",
    "CaseStatus",
    "Client",
    "Debtor",
    "DebtorKind",
    "EntryCause",
    "InterestRate",
    "Invoice",
    "LedgerEntry",
    "LedgerIsAppendOnly",
    "ReferenceCounter",
    "Role",
    "User",
    "utcnow",
]
