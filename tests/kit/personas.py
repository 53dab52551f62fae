"""The personas: admin, alice (supervisor), bob (inspector), carol (crew), dave (viewer), all
with ``PASSWORD``; ``create_personas`` makes their staff accounts."""

from __future__ import annotations

import datetime as dt

from facilities.accounts import services as accounts
from facilities.accounts.choices import Role
from facilities.accounts.permissions import SYSTEM, Actor
from facilities.accounts.schemas import UserCreate

PASSWORD = "correct horse battery"


PERSONAS = {
    "admin": Role.ADMIN,
    "alice": Role.SUPERVISOR,
    "bob": Role.INSPECTOR,
    "carol": Role.CREW,
    "dave": Role.VIEWER,
}


async def create_personas(now: dt.datetime) -> dict[str, Actor]:
    """The personas' staff accounts, with PASSWORD; their actors by username."""
    actors = {}
    for username, role in PERSONAS.items():
        user = await accounts.create_user(
            SYSTEM,
            UserCreate(
                username=username,
                display_name=username.title(),
                role=role,
                email=f"{username}@bureau.example",
                password=PASSWORD,
            ),
            now,
        )
        actors[username] = accounts.actor_of(user)
    return actors
