"""The review queue's storage: tables, engines, and the data-access functions.

The public face is what the web app and the nightly flow use; everything
else in this package is detail. Data-access functions take keyword-only
arguments (``claim_item(*, session, item_id, user)``) and commit their own
write transaction.

Example:
    >>> from review_ui.migrations import upgrade_to_head
    >>> url = default_database_url("/tmp/ew-doc")
    >>> upgrade_to_head(url)
    >>> Session = make_session_factory(make_engine(url))
"""

from review_ui.store.audit import NIGHTLY_ACTOR, append_audit
from review_ui.store.case_files import delete_expired_case_files, upsert_case_files
from review_ui.store.clerical import ClericalPair as ClericalPair  # registers the clerical review tables
from review_ui.store.engine import (
    default_database_url,
    make_engine,
    make_session_factory,
    queue_database_url,
    write_transaction,
)
from review_ui.store.link_constraints import LinkConstraint as LinkConstraint  # registers the table
from review_ui.store.queue import (
    InvalidOutcome,
    ItemNotAvailable,
    ItemNotFound,
    NotAllowed,
    QueueError,
    claim_item,
    claim_next_item,
    get_item,
    get_item_history,
    priority_order,
    reassign_item,
    record_outcome,
    release_item,
)
from review_ui.store.tables import (
    OPEN_STATUSES,
    AuditEntry,
    Base,
    CaseFile,
    CaseFileRead,
    ContactAttempt,
    ContactChannel,
    ItemHistory,
    ItemStatus,
    Outcome,
    ReviewItem,
    ReviewOutcome,
    Role,
    RouteRun,
    SignInAttempt,
    User,
    WebSession,
)
from review_ui.store.users import create_user, get_user_by_username, set_user_active

__all__ = [
    "NIGHTLY_ACTOR",
    "OPEN_STATUSES",
    "AuditEntry",
    "Base",
    "CaseFile",
    "ContactAttempt",
    "ContactChannel",
    "CaseFileRead",
    "InvalidOutcome",
    "ItemHistory",
    "ItemNotAvailable",
    "ItemNotFound",
    "ItemStatus",
    "NotAllowed",
    "Outcome",
    "QueueError",
    "ReviewItem",
    "ReviewOutcome",
    "Role",
    "RouteRun",
    "SignInAttempt",
    "User",
    "WebSession",
    "append_audit",
    "claim_item",
    "claim_next_item",
    "create_user",
    "default_database_url",
    "queue_database_url",
    "get_item",
    "get_item_history",
    "get_user_by_username",
    "make_engine",
    "make_session_factory",
    "priority_order",
    "reassign_item",
    "record_outcome",
    "release_item",
    "set_user_active",
    "upsert_case_files",
    "delete_expired_case_files",
    "write_transaction",
]
