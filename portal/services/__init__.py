"""Use cases. Each flushes, never commits, and writes the audit trail; the caller commits once."""
