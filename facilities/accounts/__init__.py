"""Staff accounts: who may do what.

A staff user has one role (admin, supervisor, inspector, crew, viewer). People log in with a
password (argon2) and get a session stored in the database; machines use API tokens (stored
hashed) sent as ``Authorization: Bearer``. Permissions are checked in services, never only in
templates. Shared rate limits live here too, because they guard accounts first.
"""
