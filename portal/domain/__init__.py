"""Pure business rules: money, statutory costs and interest, allocation, references.

Nothing in this package may import Flask or SQLAlchemy: the rules are tested on their own
and used by services, jobs and templates alike.
"""
