"""Report services: the only code that writes reports, their photos and the Open311 keys.

A report is received from the web form or an Open311 client; a report about a facility under a
closure in force is answered by that closure (no ticket is opened for it). Staff triage the rest:
convert to a ticket (photos copied, reporter e-mail carried), merge into an open ticket, reject
with a public reason, or mark not our responsibility. From then on the public status is derived
from the ticket (or the closure), never copied. The accountability numbers are computed here too.

One module per sub-domain; callers keep writing ``from facilities.reports import services`` and
use the names re-exported here:

- ``limits``: rate limits on reports and Open311 posts
- ``facility_search``: facilities to pick from (search, near me, location and address matching)
- ``public_state``: what the public sees of a report, and the public listings
- ``facility_page``: the facility page before reporting
- ``pin``: what a report pin is near (snapping, its closure, open reports around it)
- ``receiving``: receiving a report (web form, Open311, follow-ups)
- ``tracking``: the reporter's tracking page and "still broken?"
- ``triage``: the staff queue and one report as staff read it
- ``triage_actions``: convert, merge, reject, not ours
- ``open311_keys``: Open311 client keys
- ``request_updates``: servicerequestupdates (mySociety's extension)
- ``reporter_mail``: e-mails to the reporter (received, ticketed, fixed, follow-up)
- ``accountability``: the public numbers per site and facility

Names with a leading underscore are private to this package (shared between its modules) and
are not re-exported.
"""

from __future__ import annotations

from facilities.accounts import services as accounts
from facilities.records import MAX_ID
from facilities.reports.services.accountability import (
    EMPTY,
    Accountability,
    FacilityNumbers,
    Numbers,
    SiteNumbers,
    accountability,
    on_time,
)
from facilities.reports.services.facility_page import FacilityPage, facility_page
from facilities.reports.services.facility_search import (
    FACILITY_COLUMNS,
    IN_CARE,
    MATCH_RADIUS_M,
    NEARBY_LIMIT,
    NEARBY_RADIUS_M,
    Facility,
    Located,
    facilities_around,
    find_facility,
    match_address,
    match_location,
    nearby_facilities,
    search_facilities,
)
from facilities.reports.services.limits import (
    BAD_KEYS_PER_IP,
    OPEN311_POSTS_PER_IP,
    OPEN311_POSTS_PER_KEY,
    RATE_WINDOW_SECONDS,
    WEB_REPORTS_PER_IP,
    RateLimited,
    rate_used,
    take_rate,
)
from facilities.reports.services.open311_keys import (
    KEY_PREFIX,
    TOUCH_INTERVAL,
    client_for_key,
    create_key,
    list_keys,
    report_id_for_token,
    revoke_key,
)
from facilities.reports.services.pin import (
    COMPONENT_RADIUS_M,
    NEAR_REPORTS_M,
    PLANNED_SOON,
    SNAP_RADIUS_M,
    NearReport,
    PinAnswer,
    PinComponent,
    answer_pin,
    check_pin,
    closure_for_pin,
    joinable_report,
    map_start,
    open_reports_near,
)
from facilities.reports.services.public_state import (
    LIST_LIMIT,
    MAX_RANGE,
    REPORT_PUBLIC_COLUMNS,
    PublicReport,
    open_reports_for,
    public_report,
    public_reports,
    stage_of,
)
from facilities.reports.services.receiving import (
    MAX_PHOTOS,
    Submitted,
    Upload,
    citizen,
    submit_report,
)
from facilities.reports.services.reporter_mail import (
    mail_reporter,
    report_language,
    reporter_language,
    ticket_moved,
)
from facilities.reports.services.request_updates import (
    REPORT_EVENT_STAGES,
    TICKET_ACTIONS,
    RequestUpdate,
    request_updates,
)
from facilities.reports.services.tracking import (
    Step,
    TrackedPhoto,
    Tracking,
    still_broken,
    tracked_photo,
    tracking,
)
from facilities.reports.services.triage import (
    DUPLICATE_WINDOW,
    RECENTLY_COVERED,
    STAFF_COLUMNS,
    Queue,
    ReportDetail,
    ReportRow,
    Suggestion,
    find_report,
    get_photo,
    get_report,
    reports_for_ticket,
    staff_names,
    triage_queue,
)
from facilities.reports.services.triage_actions import (
    BUREAU_ZONE,
    convert_to_ticket,
    mark_not_ours,
    merge_into_ticket,
    reject_report,
    ticket_description,
)

__all__ = [
    "BAD_KEYS_PER_IP",
    "BUREAU_ZONE",
    "COMPONENT_RADIUS_M",
    "DUPLICATE_WINDOW",
    "EMPTY",
    "FACILITY_COLUMNS",
    "IN_CARE",
    "KEY_PREFIX",
    "LIST_LIMIT",
    "MATCH_RADIUS_M",
    "MAX_ID",
    "MAX_PHOTOS",
    "MAX_RANGE",
    "NEARBY_LIMIT",
    "NEARBY_RADIUS_M",
    "NEAR_REPORTS_M",
    "OPEN311_POSTS_PER_IP",
    "OPEN311_POSTS_PER_KEY",
    "PLANNED_SOON",
    "RATE_WINDOW_SECONDS",
    "RECENTLY_COVERED",
    "REPORT_EVENT_STAGES",
    "REPORT_PUBLIC_COLUMNS",
    "SNAP_RADIUS_M",
    "STAFF_COLUMNS",
    "TICKET_ACTIONS",
    "TOUCH_INTERVAL",
    "WEB_REPORTS_PER_IP",
    "Accountability",
    "Facility",
    "FacilityNumbers",
    "FacilityPage",
    "Located",
    "NearReport",
    "Numbers",
    "PinAnswer",
    "PinComponent",
    "PublicReport",
    "Queue",
    "RateLimited",
    "ReportDetail",
    "ReportRow",
    "RequestUpdate",
    "SiteNumbers",
    "Step",
    "Submitted",
    "Suggestion",
    "TrackedPhoto",
    "Tracking",
    "Upload",
    "accountability",
    "accounts",
    "answer_pin",
    "check_pin",
    "citizen",
    "client_for_key",
    "closure_for_pin",
    "convert_to_ticket",
    "create_key",
    "facilities_around",
    "facility_page",
    "find_facility",
    "find_report",
    "get_photo",
    "get_report",
    "joinable_report",
    "list_keys",
    "mail_reporter",
    "map_start",
    "mark_not_ours",
    "match_address",
    "match_location",
    "merge_into_ticket",
    "nearby_facilities",
    "on_time",
    "open_reports_for",
    "open_reports_near",
    "public_report",
    "public_reports",
    "rate_used",
    "reject_report",
    "report_id_for_token",
    "report_language",
    "reporter_language",
    "reports_for_ticket",
    "request_updates",
    "revoke_key",
    "search_facilities",
    "staff_names",
    "stage_of",
    "still_broken",
    "submit_report",
    "take_rate",
    "ticket_description",
    "ticket_moved",
    "tracked_photo",
    "tracking",
    "triage_queue",
]
