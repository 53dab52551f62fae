"""Notifications: the outbox every outbound message goes through.

A service calls :func:`services.enqueue` inside its own transaction; the message is rendered then,
in the recipient's language, and stored as a row. Only the delivery job talks to SMTP: it claims
due rows with a conditional update (so two runners never send the same row at once), sends them,
and marks each sent, or schedules a retry with exponential backoff, or gives up after the
configured number of attempts. The Message-ID is fixed per row, so a receiver can recognise the
rare duplicate after a crash between "sent" and "marked sent" (delivery is at-least-once).

Staff e-mail goes through :func:`preferences.deliver_to_staff`: each member of staff chooses per
kind of e-mail immediately (the default), the daily digest (:mod:`digest`) or off; a few kinds
are locked to immediately (see ``choices.LOCKED``).
"""
