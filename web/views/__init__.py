"""Page views, one module per area: public, borrower, office, bank, manager, accounts."""
