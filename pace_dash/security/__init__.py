"""Sign-in, roles, the audit trail and browser hardening (see SECURITY.md)."""
