"""Stable error codes of loss reports."""

LOSS_REPORT_NOT_FOUND = "loss_report_not_found"
