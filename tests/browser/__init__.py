"""The browser tier: one journey per audience in headless Chromium against a live server."""
