"""Loan APIs, one module per area: the simulator, products, applications and loans."""
