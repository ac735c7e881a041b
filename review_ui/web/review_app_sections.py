"""Sections of ``review_app.yaml`` beyond the proxy list: the privacy notice and involvement.

Kept apart from :mod:`review_ui.web.client_address` (which reads the file) so
each stays small. Both are a council's to write: the privacy page says what
its data protection officer has agreed, and how long a service's involvement
counts as open is a service manager's judgement, because the extracts record
when an assessment, duty or case *started* but not when it ended.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, PositiveInt


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class PrivacyNotice(_Strict):
    """What the privacy page says beyond the retention periods (those come from routing.yaml)."""

    #: The lawful basis for processing, as the council's DPIA states it.
    lawful_basis: str = Field(min_length=1)
    #: The condition for special category data, if the council relies on one.
    special_category_condition: str = Field(min_length=1)
    #: Who to contact about data protection: the data protection officer, by role and address.
    data_protection_contact: str = Field(min_length=1)
    #: Where staff can read the data protection impact assessment.
    dpia_location: str = Field(min_length=1)
    #: How long outcomes and the audit log are kept (the app itself never deletes them).
    audit_retention: str = Field(min_length=1)


#: source -> event type -> days after it starts that an involvement counts as open.
InvolvementOpenDays = dict[str, dict[str, PositiveInt]]
