from django.urls import URLPattern, URLResolver, path

from . import officer_views as views

urlpatterns: list[URLPattern | URLResolver] = [
    path("day/", views.day, name="day"),
    path("check-in/", views.check_in, name="check-in"),
    path("requests/", views.queue, name="queue"),
    path("print/", views.print_queue_page, name="print-queue"),
    path("cases/<str:reference>/", views.case, name="case"),
    path("cases/<str:reference>/id-number/", views.case_id_number, name="case-id-number"),
    path("cases/<str:reference>/photo/", views.case_photo, name="case-photo"),
    path("cases/<str:reference>/photo/image/", views.case_photo_image, name="case-photo-image"),
    path("cases/<str:reference>/check-in/", views.case_check_in, name="case-check-in"),
    path("cases/<str:reference>/biometrics/", views.case_biometrics, name="case-biometrics"),
    path("cases/<str:reference>/approve/", views.case_approve, name="case-approve"),
    path("cases/<str:reference>/reject/", views.case_reject, name="case-reject"),
    path("cases/<str:reference>/print-file.pdf", views.case_print_file, name="case-print-file"),
    path("cases/<str:reference>/printed/", views.case_mark_printed, name="case-mark-printed"),
    path("cases/<str:reference>/ready/", views.case_mark_ready, name="case-mark-ready"),
    path("cases/<str:reference>/handover/", views.case_handover, name="case-handover"),
    path("cases/<str:reference>/handover/resend/", views.case_handover_resend, name="case-handover-resend"),
]
