"""Who did something: one typed value, handed from the page or task down to `audit_record`.

Every service that writes takes `actor: Actor` (keyword-only, never defaulted), so mypy sees
who acts at every call site. This module is the only place the audit columns are made from an
actor (`Actor.columns`) and the only place they are read back (`Actor.from_columns`).

The columns (`AuditEvent.actor`, `actor_role`, `actor_office`, `ip`), by kind:

==============  =========================  ================  ===============  ======
kind            actor                      actor_role        actor_office     ip
==============  =========================  ================  ===============  ======
citizen         ``user:<account id>``      ``citizen``       empty            theirs
staff           ``user:<account id>``      their role        their office     theirs
courier         ``courier:<key id>``       ``courier``       empty            caller's
payment gateway ``payment_gateway``        empty             empty            none
system          ``system:<reason>``        empty             empty            none
relying party   ``rp:<client id>``         ``relying_party`` empty            none
==============  =========================  ================  ===============  ======

`<reason>` is a short dotted code naming the task or sweep ("payments.expiry_sweep"). Events
stored before this module say plain ``system`` (no reason) and, for some citizen steps, an empty
role: `from_columns` reads them (a system actor with an empty reason; ``user:<id>`` with an empty
role is the citizen). Stored rows are never rewritten, and the hash covers the columns exactly
as stored, so old and new rows verify alike.
"""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass
from enum import StrEnum
from typing import NamedTuple

CITIZEN_ROLE = "citizen"
COURIER_ROLE = "courier"
RELYING_PARTY_ROLE = "relying_party"
SYSTEM_ID = "system"
PAYMENT_GATEWAY_ID = "payment_gateway"
_USER = "user"
_COURIER = "courier"
_RELYING_PARTY = "rp"

# A reason: a dotted code, short enough that "system:<reason>" fits the 64-character column.
REASON = re.compile(r"[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)*")
MAX_REASON = 48
# A partner's key id or a client id: an opaque token, never a name.
KEY = re.compile(r"[A-Za-z0-9_.:@-]+")
MAX_KEY = 56
# A role or an office code.
LABEL = re.compile(r"[A-Za-z0-9_.:-]*")
MAX_LABEL = 32
_USER_ID = re.compile(r"user:([1-9][0-9]{0,18})")


class ActorKind(StrEnum):
    CITIZEN = "citizen"
    STAFF = "staff"
    COURIER = "courier"
    PAYMENT_GATEWAY = "payment_gateway"
    SYSTEM = "system"
    RELYING_PARTY = "relying_party"


class AuditColumns(NamedTuple):
    """The actor's part of an audit event, as stored."""

    actor: str
    actor_role: str
    actor_office: str
    ip: str | None


def _ip_or_none(ip: str | None) -> str | None:
    """The address in the form the database gives back, or None when there is none.

    An unparseable address (a unix socket, a broken proxy header) is recorded as None rather
    than making the audited change fail.
    """
    if not ip:
        return None
    try:
        return str(ipaddress.ip_address(ip.strip().split("%", 1)[0]))
    except ValueError:
        return None


@dataclass(frozen=True, kw_only=True)
class Actor:
    """Who acts. Build one with a constructor (`Actor.citizen(...)`, `Actor.staff(...)`,
    `Actor.courier(...)`, `Actor.system(...)`, `Actor.payment_gateway()`,
    `Actor.relying_party(...)`); the fields are opaque ids and codes only, never a name."""

    kind: ActorKind
    user_id: int | None = None
    # The courier's key id, the relying party's client id, or the system reason.
    key: str = ""
    role: str = ""
    office_code: str = ""
    ip: str | None = None

    def __post_init__(self) -> None:
        needs_user = self.kind in (ActorKind.CITIZEN, ActorKind.STAFF)
        if needs_user != (self.user_id is not None):
            raise ValueError(f"a {self.kind} actor {'needs' if needs_user else 'has no'} user id")
        if self.user_id is not None and (type(self.user_id) is not int or self.user_id < 1):
            raise ValueError(f"user id must be a positive integer, not {self.user_id!r}")
        if self.kind in (ActorKind.COURIER, ActorKind.RELYING_PARTY):
            if not KEY.fullmatch(self.key) or len(self.key) > MAX_KEY:
                raise ValueError(f"a {self.kind} actor needs a short opaque key, not {self.key!r}")
        elif self.kind == ActorKind.SYSTEM:
            # An empty reason only comes from reading a row stored before reasons were recorded.
            if self.key and (not REASON.fullmatch(self.key) or len(self.key) > MAX_REASON):
                raise ValueError(f"a system reason is a short dotted code, not {self.key!r}")
        elif self.key:
            raise ValueError(f"a {self.kind} actor has no key")
        for name, label in (("role", self.role), ("office_code", self.office_code)):
            if not LABEL.fullmatch(label) or len(label) > MAX_LABEL:
                raise ValueError(f"{name} must be a short code, not {label!r}")
        if self.kind == ActorKind.STAFF and not self.role:
            raise ValueError("a staff actor needs a role")

    # --- Constructors ----------------------------------------------------------------------------

    @classmethod
    def citizen(cls, user_id: int, *, ip: str | None = None) -> Actor:
        """A signed-in citizen acting for themselves (or for a child in their care)."""
        return cls(kind=ActorKind.CITIZEN, user_id=user_id, role=CITIZEN_ROLE, ip=ip)

    @classmethod
    def staff(cls, user_id: int, *, role: str, office_code: str, ip: str | None = None) -> Actor:
        """A staff member: their role ("officer", "supervisor", ...) and office code ("" for none)."""
        return cls(kind=ActorKind.STAFF, user_id=user_id, role=role, office_code=office_code, ip=ip)

    @classmethod
    def courier(cls, partner: str, *, ip: str | None = None) -> Actor:
        """The courier's system, by the key id that signed its request (and where it came from)."""
        return cls(kind=ActorKind.COURIER, key=partner, role=COURIER_ROLE, ip=ip)

    @classmethod
    def payment_gateway(cls) -> Actor:
        """The payment gateway, by a signed notification."""
        return cls(kind=ActorKind.PAYMENT_GATEWAY)

    @classmethod
    def system(cls, reason: str) -> Actor:
        """Hawiya itself: a task, a sweep or a command; `reason` names it ("payments.expiry_sweep")."""
        if not reason:
            raise ValueError("a system actor needs a reason")
        return cls(kind=ActorKind.SYSTEM, key=reason)

    @classmethod
    def relying_party(cls, client_id: str) -> Actor:
        """A relying party (a service that signs its users in with Hawiya), by its client id."""
        return cls(kind=ActorKind.RELYING_PARTY, key=client_id, role=RELYING_PARTY_ROLE)

    # --- Columns ---------------------------------------------------------------------------------

    @property
    def reason(self) -> str:
        """A system actor's reason ("" for other kinds, and for system rows stored without one)."""
        return self.key if self.kind == ActorKind.SYSTEM else ""

    def columns(self) -> AuditColumns:
        """The audit columns (the format is in the module's docstring). The only place they are made."""
        match self.kind:
            case ActorKind.CITIZEN | ActorKind.STAFF:
                actor = f"{_USER}:{self.user_id}"
            case ActorKind.COURIER:
                actor = f"{_COURIER}:{self.key}"
            case ActorKind.RELYING_PARTY:
                actor = f"{_RELYING_PARTY}:{self.key}"
            case ActorKind.PAYMENT_GATEWAY:
                actor = PAYMENT_GATEWAY_ID
            case ActorKind.SYSTEM:
                actor = f"{SYSTEM_ID}:{self.key}" if self.key else SYSTEM_ID
        return AuditColumns(actor, self.role, self.office_code, _ip_or_none(self.ip))

    @property
    def id(self) -> str:
        """The `actor` column alone ("user:42", "system:payments.expiry_sweep")."""
        return self.columns().actor

    @classmethod
    def from_columns(
        cls, actor: str, actor_role: str = "", actor_office: str = "", ip: str | None = None
    ) -> Actor | None:
        """The actor a stored event names, for display; None for a form this module never wrote.
        The only place the columns are parsed."""
        try:
            if match := _USER_ID.fullmatch(actor):
                user_id = int(match.group(1))
                if actor_role in ("", CITIZEN_ROLE):
                    return cls.citizen(user_id, ip=ip)
                return cls.staff(user_id, role=actor_role, office_code=actor_office, ip=ip)
            if actor == SYSTEM_ID:
                return cls(kind=ActorKind.SYSTEM)
            if actor == PAYMENT_GATEWAY_ID:
                return cls.payment_gateway()
            prefix, _, rest = actor.partition(":")
            if prefix == SYSTEM_ID and rest:
                return cls.system(rest)
            if prefix == _COURIER and rest:
                return cls.courier(rest, ip=ip)
            if prefix == _RELYING_PARTY and rest:
                return cls.relying_party(rest)
        except ValueError:
            return None
        return None
