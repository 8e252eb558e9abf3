"""Example requests and answers of the deferral and write-off APIs (OpenAPI docs),
shaped exactly like the real ones."""

from typing import Any

DEFERRAL_REQUESTED: dict[str, Any] = {
    "id": 3,
    "loan": 12,
    "months": 3,
    "mode": "principal_and_interest",
    "reason": "Pasar tutup karena renovasi; omzet turun.",
    "state": "requested",
    "extension_of": None,
    "requested_side": "city",
    "requested_by": "officer",
    "requested_at": "2026-05-04T09:30:00+07:00",
    "decided_by": None,
    "decided_at": None,
    "decision_note": "",
    "from_version": None,
    "to_version": None,
    "hold_class": None,
    "hold_until": None,
}
DEFERRAL_APPROVED: dict[str, Any] = {
    **DEFERRAL_REQUESTED,
    "state": "approved",
    "decided_by": "pasar",
    "decided_at": "2026-05-06T14:00:00+07:00",
    "decision_note": "Disetujui sesuai kebijakan relaksasi.",
    "from_version": 1,
    "to_version": 2,
    "hold_class": 2,
    "hold_until": "2026-08-30",
}
DEFERRAL_REJECTED: dict[str, Any] = {
    **DEFERRAL_REQUESTED,
    "state": "rejected",
    "decided_by": "pasar",
    "decided_at": "2026-05-06T14:00:00+07:00",
    "decision_note": "Usaha masih berjalan normal.",
}

REQUEST_BODY = {
    "months": 3,
    "mode": "principal_and_interest",
    "reason": "Pasar tutup karena renovasi; omzet turun.",
    "extension_of": None,
}
EXTENSION_BODY = {"months": 3, "mode": "principal_only", "reason": "Renovasi pasar diperpanjang.", "extension_of": 3}
APPROVE_BODY = {"note": "Disetujui sesuai kebijakan relaksasi."}
REJECT_BODY = {"note": "Usaha masih berjalan normal."}

WRITE_OFF_BODY = {"reason": "Macet lebih dari 360 hari; usaha tutup.", "on": "2026-06-30"}
WRITTEN_OFF = {"id": 12, "status": "written_off", "written_off_on": "2026-06-30", "written_off_principal": 4166663}
