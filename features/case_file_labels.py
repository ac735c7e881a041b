"""The plain-English line a caseworker reads for each event on a case file's timeline.

Kept apart from :mod:`features.case_files` so the wording can be read (and
reviewed by a service manager) in one place. Every event type of the default
vocabulary (DATA_CONTRACT.md section 2) has a label; an event type a council
adds without one is shown as "<Event type in words> (<service label>)".

These are descriptions of what is already on the council's record, for a
person offering help to check against it. Enforcement and crisis events are
shown because they are part of that record; nothing here produces,
recommends or triggers one.
"""

from __future__ import annotations

#: (source, event type) -> label.
EVENT_LABELS: dict[tuple[str, str], str] = {
    # council tax
    ("council_tax", "bill_issued"): "Council tax bill issued",
    ("council_tax", "payment"): "Paid council tax",
    ("council_tax", "arrangement_made"): "Council tax payment arrangement made",
    ("council_tax", "missed_instalment"): "Missed a council tax instalment",
    ("council_tax", "reminder"): "Council tax reminder sent",
    ("council_tax", "final_notice"): "Council tax final notice sent",
    ("council_tax", "arrangement_broken"): "Council tax payment arrangement broken",
    ("council_tax", "discount_removed"): "Council tax discount removed",
    ("council_tax", "ctr_claim"): "Claimed council tax reduction",
    ("council_tax", "summons"): "Council tax summons issued",
    ("council_tax", "liability_order"): "Council tax liability order granted",
    ("council_tax", "enforcement_agent_referral"): "Council tax debt passed to enforcement agents",
    # housing rent
    ("housing_rent", "tenancy_start"): "Council tenancy started",
    ("housing_rent", "payment"): "Paid rent",
    ("housing_rent", "missed_payment"): "Missed a rent payment",
    ("housing_rent", "arrears_letter"): "Rent arrears letter sent",
    ("housing_rent", "repair_request"): "Asked for a repair to their council home",
    ("housing_rent", "damp_mould_report"): "Reported damp or mould in their council home",
    ("housing_rent", "tenancy_end"): "Council tenancy ended",
    ("housing_rent", "nosp_served"): "Notice of seeking possession served",
    ("housing_rent", "possession_order"): "Possession order granted",
    ("housing_rent", "eviction"): "Evicted from their council home",
    # benefits
    ("benefits", "claim_new"): "Made a new benefits claim",
    ("benefits", "change_of_circumstances"): "Reported a change of circumstances to benefits",
    ("benefits", "claim_suspended"): "Benefits claim suspended",
    ("benefits", "claim_cancelled"): "Benefits claim cancelled",
    ("benefits", "overpayment"): "Benefits overpayment found",
    ("benefits", "dhp_application"): "Applied for a discretionary housing payment",
    ("benefits", "welfare_assistance_application"): "Applied for local welfare assistance",
    # contact centre (the topic is added: "... about benefits")
    ("contact_centre", "enquiry"): "Enquiry to the contact centre",
    ("contact_centre", "complaint"): "Complaint to the contact centre",
    # adult social care
    ("adult_social_care", "contact"): "Contact with adult social care",
    ("adult_social_care", "referral"): "Referred to adult social care",
    ("adult_social_care", "assessment"): "Adult social care assessment",
    ("adult_social_care", "care_package_start"): "Adult social care package started",
    ("adult_social_care", "safeguarding_concern"): "Adult safeguarding concern raised",
    # children's services
    ("childrens_services", "early_help_contact"): "Early help contact with children's services",
    ("childrens_services", "school_absence_concern"): "School absence concern raised",
    ("childrens_services", "referral_accepted"): "Referral accepted by children's services",
    ("childrens_services", "child_protection_plan"): "Child protection plan started",
    # homelessness
    ("homelessness", "prevention_duty"): "Homelessness prevention duty accepted",
    ("homelessness", "relief_duty"): "Homelessness relief duty accepted",
    ("homelessness", "temporary_accommodation"): "Placed in temporary accommodation",
    ("homelessness", "approach"): "Approached the council as homeless or at risk of homelessness",
    # anti-social behaviour
    ("asb", "report_as_victim"): "Reported anti-social behaviour against them",
    ("asb", "report_as_alleged"): "Named in a report of anti-social behaviour",
    ("asb", "noise_complaint"): "Noise complaint",
    ("asb", "case_opened"): "Anti-social behaviour case opened",
}

#: A contact's topic -> the words after "about". "other" adds nothing; an
#: unlisted topic is shown with its underscores as spaces.
TOPIC_WORDS: dict[str, str | None] = {
    "council_tax": "council tax",
    "rent": "rent",
    "benefits": "benefits",
    "repairs": "repairs",
    "asb": "anti-social behaviour",
    "waste": "waste",
    "parking": "parking",
    "social_care": "social care",
    "housing_options": "housing options",
    "other": None,
}

#: How a case file says where a person's address was taken from, after
#: "Address from <service>, last contact <date>", by how it was placed on the
#: gazetteer (:data:`features.graph.best_record.ADDRESS_QUALITY`): a caseworker
#: should know when an address was matched without a postcode, or not at all.
ADDRESS_MATCH_WORDS: dict[str, str] = {
    "gazetteer": "",
    "postcode": " (not matched to one property on the council's address list)",
    "street": " (matched to the council's address list by street and number: the record holds no postcode)",
    "as_held": " (not found on the council's address list)",
    "postcode_only": " (only a postcode: no address to visit)",
}
