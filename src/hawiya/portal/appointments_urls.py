from django.urls import URLPattern, path

from . import appointments_views as views

urlpatterns: list[URLPattern] = [
    path("new/<str:reference>/", views.new, name="appointments-new"),
    path("new/<str:reference>/check/", views.new_check, name="appointments-new-check"),
    path("<str:reference>/", views.detail, name="appointments-detail"),
    path("<str:reference>/reschedule/", views.reschedule, name="appointments-reschedule"),
    path("<str:reference>/reschedule/check/", views.reschedule_check, name="appointments-reschedule-check"),
    path("<str:reference>/cancel/", views.cancel, name="appointments-cancel"),
    path("<str:reference>/ticket.pdf", views.ticket, name="appointments-ticket"),
    path("<str:reference>/appointment.ics", views.ics, name="appointments-ics"),
]
