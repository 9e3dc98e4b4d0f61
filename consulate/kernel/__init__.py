"""The shared kernel every app imports: errors, history, tenancy, encryption, accounts, the
abstract base model and reference lists. It imports no app and no project wiring (settings,
URLconfs, demo seeding); `tests/consulate/test_layers.py` keeps it so."""
