"""Pure rules: money, law, deadlines. No Flask, no SQLAlchemy."""
