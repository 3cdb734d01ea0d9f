"""All models; importing this package registers every table on Base.metadata.

Each feature owns one module here and adds one import line below.
"""

from storage.models.activities import (
    Activity,
    ActivitySignup,
    ActivityStatus,
    ActivityTarget,
    ActivityType,
    SignupStatus,
    TargetKind,
)
from storage.models.base import Base, utcnow
from storage.models.duty_record import DUTY_RECORD_INDEXES
from storage.models.inbox import ChannelChoice, ChannelMessage, InboxUpdate
from storage.models.members import (
    AuditLog,
    BindingRequest,
    BindingRequestStatus,
    Committee,
    DialogState,
    Identity,
    InviteCode,
    LiaisonPoint,
    Member,
    ProcessedUpdate,
    Role,
    Sector,
    member_committee,
)
from storage.models.notices import AckMode, AudienceKind, Notice, NoticeRecipient, NoticeStatus
from storage.models.outbox import DeliveryStatus, OutboxMessage, Priority
from storage.models.quarantine import QuarantinedUpdate
from storage.models.reports import (
    Report,
    ReportAttachment,
    ReportCoauthor,
    ReportCounter,
    ReportEvent,
    ReportSource,
    ReportStatus,
)

__all__ = [
    "DUTY_RECORD_INDEXES",
    "AckMode",
    "Activity",
    "ActivitySignup",
    "ActivityStatus",
    "ActivityTarget",
    "ActivityType",
    "AudienceKind",
    "AuditLog",
    "Base",
    "BindingRequest",
    "BindingRequestStatus",
    "ChannelChoice",
    "ChannelMessage",
    "Committee",
    "DeliveryStatus",
    "DialogState",
    "Identity",
    "InboxUpdate",
    "InviteCode",
    "LiaisonPoint",
    "Member",
    "Notice",
    "NoticeRecipient",
    "NoticeStatus",
    "OutboxMessage",
    "Priority",
    "ProcessedUpdate",
    "QuarantinedUpdate",
    "Report",
    "ReportAttachment",
    "ReportCoauthor",
    "ReportCounter",
    "ReportEvent",
    "ReportSource",
    "ReportStatus",
    "Role",
    "Sector",
    "SignupStatus",
    "TargetKind",
    "member_committee",
    "utcnow",
]
