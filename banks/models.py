"""Partner banks, their staff, fees and fund allocations: built by the workflow issue."""
