"""Typed SQLAlchemy models: communities, residents, campaigns, messages and responses.

One module per area; every model is imported here, so `from storage.models import X` works for
each of them and `Base.metadata` (Alembic's target) holds every table.
"""

from storage.models.base import NAMING, Base, UTCDateTime, utcnow
from storage.models.campaigns import Assignment, Campaign, Prompt
from storage.models.communities import DEFAULT_QUIET_HOURS, Community
from storage.models.messages import InboundMessage, OutboundMessage, Response
from storage.models.profiles import GroupCount, ProfileAnswer, ProfileQuestion
from storage.models.residents import CHECKIN_DUE_WHERE, Consent, Resident
from storage.models.results import ApprovedQuote, CampaignUpdate
from storage.models.safeguarding import SafeguardingAlert
from storage.models.staff import ExportRecord, LoginFailure, User, UserCommunity
from storage.models.workers import WorkerProcess

__all__ = [
    "CHECKIN_DUE_WHERE",
    "DEFAULT_QUIET_HOURS",
    "NAMING",
    "ApprovedQuote",
    "Assignment",
    "Base",
    "Campaign",
    "CampaignUpdate",
    "Community",
    "Consent",
    "ExportRecord",
    "GroupCount",
    "InboundMessage",
    "LoginFailure",
    "OutboundMessage",
    "ProfileAnswer",
    "ProfileQuestion",
    "Prompt",
    "Resident",
    "Response",
    "SafeguardingAlert",
    "UTCDateTime",
    "User",
    "UserCommunity",
    "WorkerProcess",
    "utcnow",
]
