"""Imports every feature's models so that metadata (Alembic, create_all) sees them all."""

from partage.accounts.models import (
    AccountToken,
    ApiToken,
    Plan,
    RecoveryCode,
    RuntimeSetting,
    User,
    WebSession,
)
from partage.admin.models import TrafficDay
from partage.db import Base
from partage.files.models import Blob, BlobStatus, File, FileStatus, Folder
from partage.media.models import Media, Subtitle
from partage.moderation.models import (
    AuditEvent,
    Bank,
    BankEntry,
    BankMatch,
    BlobFingerprint,
    Complaint,
    Decision,
    DecisionTarget,
    Notice,
    NoticeItem,
    NotifierSanction,
    Statement,
    Strike,
)
from partage.uploads.models import Upload

__all__ = [
    "AccountToken",
    "ApiToken",
    "AuditEvent",
    "Bank",
    "BankEntry",
    "BankMatch",
    "BlobFingerprint",
    "Complaint",
    "Decision",
    "DecisionTarget",
    "Notice",
    "NoticeItem",
    "NotifierSanction",
    "Statement",
    "Strike",
    "Base",
    "Blob",
    "BlobStatus",
    "File",
    "FileStatus",
    "Folder",
    "Media",
    "Plan",
    "RecoveryCode",
    "RuntimeSetting",
    "Subtitle",
    "TrafficDay",
    "Upload",
    "User",
    "WebSession",
]
