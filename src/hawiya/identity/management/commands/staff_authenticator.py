"""`manage.py staff_authenticator USERNAME`: set up a staff member's authenticator app.

Staff sign in with a password and an authenticator-app code (staff accounts have no person, so no
mobile for SMS codes). An administrator creates the account in the admin, then runs this with the
staff member beside them: it prints a QR code (and the secret, for typing) to scan with the app,
asks for the code the app then shows, and activates the app only when that code is right. Running
it again for an account whose app is active is refused: remove the app first (admin) if the phone
was lost.
"""

from __future__ import annotations

import io
from argparse import ArgumentParser
from typing import Any

import segno
from django.core.management.base import BaseCommand, CommandError

from hawiya.core.errors import ApplicationError
from hawiya.identity.models import User
from hawiya.identity.services.authenticator import authenticator_confirm, authenticator_enrol
from hawiya.identity.staff import staff_actor_for

ATTEMPTS = 3


class Command(BaseCommand):
    help = "Set up a staff member's authenticator app (QR code in the terminal, then one code to confirm)."

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument("username", help="The staff account's username.")

    def handle(self, *args: Any, **options: Any) -> None:
        user = User.objects.filter(username__iexact=options["username"].strip()).first()
        if user is None or staff_actor_for(user) is None:
            raise CommandError(
                "No active staff account has this username (give it a role in the admin first)."
            )
        try:
            enrolment = authenticator_enrol(user=user)
        except ApplicationError as error:
            raise CommandError(str(error.message)) from None
        qr = io.StringIO()
        segno.make(enrolment.provisioning_uri, error="m").terminal(out=qr, compact=True)
        self.stdout.write("Scan this with the authenticator app:\n" + qr.getvalue())
        self.stdout.write(f"Or type this secret: {enrolment.secret}\n")
        for _attempt in range(ATTEMPTS):
            code = input("The 6-digit code the app shows now: ")
            try:
                authenticator_confirm(user=user, code=code, ip="127.0.0.1", user_agent="manage.py")
            except ApplicationError as error:
                self.stderr.write(str(error.message))
                continue
            self.stdout.write(self.style.SUCCESS(f"The authenticator app of {user.username} is active."))
            return
        raise CommandError("The app is not active: run the command again.")
