"""The supervisor's pages (under /<lang>/staff/supervisor/): dashboard and its CSV, schedule,
holidays. Supervisors see their own office; administrators choose one with `?office=<code>`."""

from django.urls import URLPattern, URLResolver, path

from . import supervisor_views as views

urlpatterns: list[URLPattern | URLResolver] = [
    path("", views.dashboard, name="supervisor-dashboard"),
    path("dashboard.csv", views.dashboard_csv, name="supervisor-dashboard-csv"),
    path("schedule/", views.schedule, name="supervisor-schedule"),
    path("holidays/", views.holidays, name="supervisor-holidays"),
    path("holidays/<int:holiday_id>/remove/", views.holiday_remove, name="supervisor-holiday-remove"),
]
