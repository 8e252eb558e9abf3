"""The reports' services: asking for and making documents (:mod:`.reports`), and the
city's allowance table (:mod:`.allowance`)."""
