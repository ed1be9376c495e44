"""Factories for the identity tests: accounts are made through the activation services.

Persons come from the register's own factories (valid ID numbers via check_digit). The one-time
code a service sent is read back from the SMS outbox row (the demo client keeps the body).
"""

from __future__ import annotations

import itertools
import re
from typing import Any

from hawiya.audit.actors import Actor
from hawiya.identity import services
from hawiya.identity.models import User
from hawiya.identity.staff import StaffActor, staff_actor_for, staff_member_create
from hawiya.notifications.models import SmsMessage
from hawiya.registry.models import Office, Person
from hawiya.registry.tests.factories import make_person, next_id_number

__all__ = [
    "PASSWORD",
    "activate",
    "last_code",
    "make_account",
    "make_citizen",
    "make_person",
    "make_staff",
    "next_id_number",
    "next_mobile",
    "person_of",
    "sign_in",
]

PASSWORD = "correct horse battery staple"
IP = "192.0.2.10"
UA = "Mozilla/5.0 (test)"
_usernames = itertools.count(1)
_mobiles = itertools.count(1)
_CODE = re.compile(r"\b([0-9]{6})\b")


def person_of(user: User) -> Person:
    """The account's person (test accounts always have one)."""
    assert user.person is not None
    return user.person


# An applicant made without an account acts under an id no account of the test database has.
ACCOUNTLESS_ID_OFFSET = 10**9


def applicant_actor(person_id: int, *, ip: str | None = None) -> Actor:
    """The citizen acting for themselves: their account, or an id no account has when the test made
    the person without one (never a staff member's id: the trail must tell them apart)."""
    user_id = User.objects.filter(person_id=person_id).values_list("pk", flat=True).first()
    return Actor.citizen(user_id if user_id is not None else ACCOUNTLESS_ID_OFFSET + person_id, ip=ip)


def next_mobile() -> str:
    """A Saudi mobile number no other test person has (E.164)."""
    return f"+96655{next(_mobiles):07d}"


def make_citizen(**overrides: Any) -> Person:
    """A living citizen with a mobile number of their own on record."""
    overrides.setdefault("mobile", next_mobile())
    return make_person(**overrides)


def last_code(to: str) -> str:
    """The code in the latest one-time-code message to `to` (E.164)."""
    message = SmsMessage.objects.filter(to=to, template="one_time_code").order_by("-queued_at", "-id").first()
    assert message is not None, f"no code was sent to {to}"
    match = _CODE.search(message.body)
    assert match is not None
    return match.group(1)


def activate(person: Person, *, username: str | None = None, password: str = PASSWORD, ip: str = IP) -> User:
    """Activate `person`'s account through the services, as the activation pages do."""
    start = services.activation_start(
        id_number=person.id_number, date_of_birth=person.date_of_birth, mobile=person.mobile, ip=ip
    )
    services.activation_verify(challenge=start.challenge, code=last_code(person.mobile), ip=ip)
    return services.activation_complete(
        challenge=start.challenge,
        username=username or f"user.{next(_usernames)}",
        password=password,
        accepted_terms=True,
        ip=ip,
    )


def make_account(*, password: str = PASSWORD, username: str | None = None, **person_fields: Any) -> User:
    """A living citizen with a mobile number on record and an activated account."""
    return activate(make_citizen(**person_fields), username=username, password=password)


def sign_in(user: User, *, password: str = PASSWORD, ip: str = IP) -> User:
    """A complete sign-in with password and SMS code."""
    challenge = services.sign_in_start(login=user.username, password=password, ip=ip, user_agent=UA)
    services.sign_in_send_sms_code(challenge=challenge.challenge, ip=ip)
    return services.sign_in_verify(
        challenge=challenge.challenge,
        code=last_code(person_of(user).mobile),
        method="sms",
        ip=ip,
        user_agent=UA,
    )


_staff_counter = itertools.count(1)


def make_staff(
    *, role: str, office: Office | None, password: str = PASSWORD, ip: str | None = IP
) -> StaffActor:
    """A staff account of `role` at `office` (None for an administrator), as services see it."""
    user = staff_member_create(
        username=f"staff{next(_staff_counter)}", password=password, role=role, office=office
    )
    actor = staff_actor_for(user, ip=ip)
    assert actor is not None
    return actor
