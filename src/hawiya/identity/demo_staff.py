"""The demo staff accounts (`manage.py seed_demo_staff`, listed in the README).

Their password and authenticator secrets are published, so `staff.staff_actor_for` refuses these
usernames outside demo mode, and the back-office sign-in shows their current code in demo mode.
"""

from __future__ import annotations

from .models import StaffRole

DEMO_STAFF_PASSWORD = "hawiya-demo-staff"  # noqa: S105 (demo mode only, printed in the README)
# username, role, office code, first name, last name, base32 TOTP secret (demo only)
DEMO_STAFF: tuple[tuple[str, str, str | None, str, str, str], ...] = (
    ("officer.riyadh", StaffRole.OFFICER, "riyadh-north", "Majed", "Al-Harbi", "JBSWY3DPEHPK3PXPOFFICERA"),
    (
        "supervisor.riyadh",
        StaffRole.SUPERVISOR,
        "riyadh-north",
        "Huda",
        "Al-Saud",
        "JBSWY3DPEHPK3PXPSUPERVIS",
    ),
    ("officer.jeddah", StaffRole.OFFICER, "jeddah-central", "Omar", "Al-Zahrani", "JBSWY3DPEHPK3PXPOFFICERJ"),
    ("admin.hawiya", StaffRole.ADMINISTRATOR, None, "Lama", "Al-Qahtani", "JBSWY3DPEHPK3PXPADMINIST"),
)


def demo_staff_secret(username: str) -> str | None:
    """The fixed demo secret of a demo staff account (None for any other account)."""
    return next((row[5] for row in DEMO_STAFF if row[0] == username), None)
