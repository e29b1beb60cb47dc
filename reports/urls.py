"""Pages of the reading workflow (the REST API is reports/api_urls.py)."""
from django.urls import path

from reports.views import editor, macros, portal, turnaround, worklist

urlpatterns = [
    path("worklist/", worklist.worklist, name="worklist"),
    path("worklist/turnaround/", turnaround.turnaround, name="turnaround"),
    path("worklist/macros/", macros.macros, name="report-macros"),
    path("worklist/macros/<int:macro_id>/delete", macros.macro_delete, name="report-macro-delete"),
    path("reports/<int:report_id>/", portal.report_page, name="report-page"),
    path("reports/<int:report_id>/pdf", portal.report_pdf, name="report-pdf"),
    path("reports/<int:report_id>/claim", worklist.claim, name="report-claim"),
    path("reports/<int:report_id>/assign", worklist.assign, name="report-assign"),
    path("reports/<int:report_id>/release", worklist.release, name="report-release"),
    path("reports/<int:report_id>/edit/", editor.editor, name="report-edit"),
    path("reports/<int:report_id>/draft", editor.save_draft, name="report-draft"),
    path("reports/<int:report_id>/sign", editor.sign, name="report-sign"),
    path("reports/<int:report_id>/addendum", editor.addendum, name="report-addendum"),
    path("reports/<int:report_id>/cancel", editor.cancel, name="report-cancel"),
    path("reports/<int:report_id>/critical", editor.flag_critical, name="report-critical"),
    path("reports/<int:report_id>/template", editor.save_template, name="report-save-template"),
    path("notifications/", portal.notifications, name="notifications"),
    path("notifications/<int:notification_id>/open", portal.notification_open, name="notification-open"),
]
