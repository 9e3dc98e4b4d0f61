"""The visas app's services (docs/visas.md): the applicant's verbs (`application.py`), the
uploads (`uploads.py`), the mission's casework (`casework.py`), the screening
(`screening.py`), the issuance (`issuance.py`)."""
