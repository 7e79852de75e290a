"""Close: the month-end reconciliation, frozen and locked, and its reopening (`close`)."""
