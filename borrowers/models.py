"""Borrowers and their businesses (NIK, NIB, domicile): built by the workflow issue."""
