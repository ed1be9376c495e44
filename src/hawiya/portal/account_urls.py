"""My account: profile, security history, sessions, sign-in methods, connected services (under
/<lang>/account/)."""

from django.urls import URLPattern, URLResolver, path

from . import account_views as views
from . import approvals_views, document_checks_views, passkey_views

urlpatterns: list[URLPattern | URLResolver] = [
    path("", views.account, name="account"),
    path("security/", views.security, name="account-security"),
    path("access-history/", views.access_history, name="account-access-history"),
    path("access-history/<int:event_id>/proof.json", views.access_proof, name="account-access-proof"),
    path("document-checks/", document_checks_views.document_checks, name="account-document-checks"),
    path("approvals/", approvals_views.approvals, name="account-approvals"),
    path("approvals/pending/", approvals_views.approvals_pending, name="account-approvals-pending"),
    path(
        "approvals/<str:approval_id>/answer/",
        approvals_views.approval_answer_view,
        name="account-approval-answer",
    ),
    path(
        "document-checks/<str:reference>/",
        document_checks_views.document_check,
        name="account-document-check",
    ),
    path(
        "document-checks/<str:reference>/report/",
        document_checks_views.document_check_report,
        name="account-document-check-report",
    ),
    path("security/activity/<str:event_id>/not-me/", views.report_event, name="account-report"),
    path("security/reported/", views.reported, name="account-reported"),
    path("security/sessions/<str:session_id>/sign-out/", views.session_revoke, name="account-session-revoke"),
    path("security/sessions/sign-out-others/", views.sessions_revoke_all, name="account-sessions-revoke-all"),
    path("methods/", views.methods, name="account-methods"),
    path("methods/text-message/lock/", views.sms_lock, name="account-sms-lock"),
    path("methods/text-message/unlock/", views.sms_unlock, name="account-sms-unlock"),
    path("methods/authenticator/", views.authenticator_start, name="account-authenticator-start"),
    path("methods/authenticator/set-up/", views.authenticator_set_up, name="account-authenticator-set-up"),
    path("methods/authenticator/remove/", views.authenticator_remove, name="account-authenticator-remove"),
    path("methods/recovery-codes/", views.recovery_codes, name="account-recovery-codes"),
    path("methods/recovery-codes/new/", views.recovery_codes_show, name="account-recovery-codes-show"),
    path("methods/passkeys/add/", passkey_views.passkey_add, name="account-passkey-add"),
    path("methods/passkeys/options/", passkey_views.passkey_options, name="account-passkey-options"),
    path(
        "methods/passkeys/<str:passkey_id>/rename/",
        passkey_views.passkey_rename,
        name="account-passkey-rename",
    ),
    path(
        "methods/passkeys/<str:passkey_id>/remove/",
        passkey_views.passkey_remove,
        name="account-passkey-remove",
    ),
    path("password/", views.password_current, name="account-password"),
    path("password/code/", views.password_code, name="account-password-code"),
    path("password/new/", views.password_new, name="account-password-new"),
    path("mobile/", views.mobile_change, name="account-mobile"),
    path("mobile/current-code/", views.mobile_current_code, name="account-mobile-current-code"),
    path("mobile/new-code/", views.mobile_new_code, name="account-mobile-new-code"),
    path("mobile/at-an-office/", views.mobile_in_person, name="account-mobile-in-person"),
    path("connected-services/", views.connections, name="account-connections"),
    path(
        "connected-services/<str:party_id>/revoke/",
        views.connection_revoke,
        name="account-connection-revoke",
    ),
]
