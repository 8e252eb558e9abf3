"""Example answers for the API docs (OpenAPI), shaped exactly like the real ones."""

from typing import Any

from drf_spectacular.utils import OpenApiExample

APPLICATION: dict[str, Any] = {
    "id": 41,
    "state": "forwarded",
    "borrower": 7,
    "borrower_name": "Siti Rahayu",
    "business": 7,
    "kecamatan": "33.74.01",
    "bank": "PASAR",
    "product": "WIBAWA",
    "terms_version": 1,
    "principal": 5000000,
    "tenor_months": 12,
    "collateral": False,
    "purpose": "Modal kerja warung",
    "checks": [
        {"name": "resident", "passed": True, "message": "The KTP address is in 33.74 (33.74.01.1001 Miroto)."},
        {"name": "age", "passed": True, "message": "The applicant is 41 years old (at least 17)."},
        {"name": "principal", "passed": True, "message": "Rp5,000,000 is within the limit of Rp5,000,000."},
    ],
    "checks_run_at": "2026-03-02T09:15:00+07:00",
    "state_changed_at": "2026-03-04T10:00:00+07:00",
    "waiting_seconds": 86400,
    "created_at": "2026-03-01T08:30:00+07:00",
    "visited_on": "2026-03-03",
    "visit_notes": "Warung buka, stok cukup.",
    "visit_latitude": "-6.982500",
    "visit_longitude": "110.409300",
    "has_visit_photo": False,
    "forwarded_at": "2026-03-04T10:00:00+07:00",
    "credit_result": "",
    "credit_notes": "",
    "contract_number": "",
    "approved_at": None,
    "disbursed_on": None,
    "end_reason": "",
    "loan": None,
}
STAGES = [
    {
        "state": "draft",
        "entered_at": "2026-03-01T08:30:00+07:00",
        "left_at": "2026-03-02T09:15:00+07:00",
        "seconds": 89100,
    },
    {
        "state": "submitted",
        "entered_at": "2026-03-02T09:15:00+07:00",
        "left_at": "2026-03-03T14:00:00+07:00",
        "seconds": 103500,
    },
]
APPLICATION_DETAIL = {
    **APPLICATION,
    "stages": STAGES,
    "events": [
        {
            "action": "submit",
            "actor": "officer",
            "at": "2026-03-02T09:15:00+07:00",
            "from_state": "draft",
            "to_state": "submitted",
            "note": "",
            "amounts": {},
        },
    ],
}
INSTALLMENT = {
    "number": 1,
    "due_date": "2026-04-10",
    "principal": 416667,
    "interest": 12500,
    "installment": 429167,
    "balance": 4583333,
    "principal_paid": 0,
    "interest_paid": 0,
    "penalty": 0,
    "penalty_paid": 0,
    "paid_on": None,
}
LOAN = {
    "id": 12,
    "contract_number": "PASAR/KW/2026/0001",
    "bank": "PASAR",
    "borrower": 7,
    "borrower_name": "Siti Rahayu",
    "application": 41,
    "product": "WIBAWA",
    "terms_version": 1,
    "principal": 5000000,
    "annual_rate": "3.0000",
    "method": "flat",
    "tenor_months": 12,
    "grace_months": 0,
    "disbursed_on": "2026-03-10",
    "status": "active",
    "outstanding_principal": 5000000,
    "schedule_status": "ready",
}
LOAN_DETAIL = {**LOAN, "next_installment": INSTALLMENT}


def answer(name: str, value: Any) -> OpenApiExample:
    return OpenApiExample(name, value=value, response_only=True)
