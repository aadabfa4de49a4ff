"""Documents: HTML rendered to PDF (letters, dossiers, reports) and files kept on disk."""
