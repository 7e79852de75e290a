"""Run: the jobs as sequences of the stages' steps, and what every run shares.

`nightly` holds `Run` (lock, transaction, record, staging, publishing) and the sequences
`nightly` and `close_month`; `settings` fixes the business time zone and billing cutover;
`outputs` writes and publishes the output folder; `summary` counts and words the run;
`errors` are the refusals that stop a command at once; `generate` writes synthetic inboxes.
"""
