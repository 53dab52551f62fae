"""Operations endpoints: metrics for Prometheus (staff token or loopback only).

The metrics read several domains (closures, tickets, jobs, the outbox), so this controller sits
beside the app at the top of the layers, not in ``web/`` (which imports no domain)."""

from __future__ import annotations

from typing import Any

from litestar import Controller, Request, Response, get

from facilities.accounts.choices import Perm
from facilities.accounts.permissions import can
from facilities.closures import services as closures
from facilities.errors import PermissionDenied
from facilities.i18n import gettext as _
from facilities.jobs import services as jobs
from facilities.notifications import services as notifications
from facilities.tickets import services as tickets
from facilities.web.auth import current_actor
from facilities.web.observability import render_metrics
from facilities.web.responses import client_ip

LOOPBACK = {"127.0.0.1", "::1", "localhost"}


class OpsController(Controller):
    include_in_schema = False

    @get("/metrics", media_type="text/plain; version=0.0.4")
    async def metrics(self, request: Request[Any, Any, Any]) -> Response[bytes]:
        """Allowed from the machine itself (a local Prometheus or agent) or with a token of a
        role that may view jobs; counts are not for the public. Behind a reverse proxy on this
        machine the peer is loopback for everyone, hence the forwarded client address."""
        if client_ip(request) not in LOOPBACK and not can(current_actor(request), Perm.JOBS_VIEW):
            raise PermissionDenied(_("You do not have permission to do this."))
        gauges: dict[str, float] = {}
        for status, count in (await notifications.backlog()).items():
            gauges[f'facilities_outbox_messages{{status="{status}"}}'] = count
        gauges["facilities_open_tickets"] = await tickets.count_open()
        gauges["facilities_closures_in_force"] = await closures.count_in_force()
        for job_id, (runs, failures) in (await jobs.run_counts()).items():
            gauges[f'facilities_job_runs{{job="{job_id}"}}'] = runs
            gauges[f'facilities_job_failures{{job="{job_id}"}}'] = failures
        return Response(render_metrics(gauges), media_type="text/plain; version=0.0.4")
