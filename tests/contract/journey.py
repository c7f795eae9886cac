"""The main journey of a new user, through the Python client generated from
openapi/openapi.json by openapi-python-client and nothing else.

Usage: journey.py API_URL OWNER_PASSKEY   (API_URL ends in /api; the generated package
on PYTHONPATH)
Prints one line per step; exits non-zero at the first step that does not do what the
document promises.
"""

import datetime
import io
import sys
import time

from afterresume_client import AuthenticatedClient, Client
from afterresume_client.api.account import me_get
from afterresume_client.api.auth import auth_signup, auth_token
from afterresume_client.api.jobs import job_get
from afterresume_client.api.reports import report_create, report_get, report_share
from afterresume_client.api.tenant import invitation_create, tenant_get
from afterresume_client.api.worklogs import (
    attachment_upload,
    worklog_create,
    worklog_delete,
    worklog_get,
    worklog_list,
    worklog_update,
)
from afterresume_client.models import (
    AttachmentOut,
    AttachmentUploadBody,
    CreatedInvitation,
    CreatedShare,
    CreateEntry,
    CreateInvitation,
    CreateReport,
    CreateShare,
    Entry,
    EntryPage,
    ErrorBody,
    ErrorCode,
    JobOut,
    JobState,
    LoginRequest,
    Me,
    ReportAccepted,
    ReportKindParam,
    ReportOut,
    Role,
    SignupRequest,
    Tenant,
    TokenResponse,
    UpdateEntry,
)
from afterresume_client.types import File

BASE, PASSKEY = sys.argv[1], sys.argv[2]
PASSWORD = "correct horse battery staple"


def step(name, response, status, parsed_type):
    """Checks a response's status and typed body; returns the typed body."""
    parsed = response.parsed
    if response.status_code != status or not isinstance(parsed, parsed_type):
        sys.exit(
            f"FAIL {name}: expected {status} {parsed_type.__name__}, got "
            f"{response.status_code} {type(parsed).__name__}: {response.content[:300]!r}"
        )
    print(f"ok   {name}: {status} {parsed_type.__name__}")
    return parsed


def main():
    anonymous = Client(base_url=BASE, raise_on_unexpected_status=True)
    step(
        "signup with a passkey",
        auth_signup.sync_detailed(
            client=anonymous,
            body=SignupRequest(
                passkey=PASSKEY,
                email="journey@example.com",
                password=PASSWORD,
                display_name="Journey",
                tenant_name="Journey Inc",
            ),
        ),
        201,
        TokenResponse,
    )
    tokens = step(
        "login",
        auth_token.sync_detailed(
            client=anonymous,
            body=LoginRequest(email="journey@example.com", password=PASSWORD),
        ),
        200,
        TokenResponse,
    )
    owner = AuthenticatedClient(base_url=BASE, token=tokens.access_token)

    today = datetime.date.today()
    entry = step(
        "create an entry",
        worklog_create.sync_detailed(
            client=owner,
            body=CreateEntry(
                content="Migrated the billing service to Postgres 16",
                date=today,
                tags=["postgres", "billing"],
            ),
        ),
        201,
        Entry,
    )
    page = step("list entries", worklog_list.sync_detailed(client=owner), 200, EntryPage)
    assert any(e.id == entry.id for e in page.items), "the new entry is not listed"
    found = step(
        "search entries",
        worklog_list.sync_detailed(client=owner, q="postgres"),
        200,
        EntryPage,
    )
    assert [e.id for e in found.items] == [entry.id], found.items
    updated = step(
        "update the entry",
        worklog_update.sync_detailed(
            entry.id,
            client=owner,
            body=UpdateEntry(version=entry.version, project="billing"),
        ),
        200,
        Entry,
    )
    assert updated.version == entry.version + 1 and updated.project == "billing"

    upload = attachment_upload.sync_detailed(
        entry.id,
        client=owner,
        body=AttachmentUploadBody(
            file=File(
                payload=io.BytesIO(b"migration notes\n"),
                file_name="notes.txt",
                mime_type="text/plain",
            )
        ),
    )
    attachment = step("upload an attachment", upload, 201, AttachmentOut)
    assert attachment.size == 16, attachment

    invitation = step(
        "invite a read_only member",
        invitation_create.sync_detailed(
            client=owner, body=CreateInvitation(role=Role.READ_ONLY)
        ),
        201,
        CreatedInvitation,
    )
    assert invitation.role == Role.READ_ONLY and invitation.passkey
    step(
        "the member signs up with the invitation",
        auth_signup.sync_detailed(
            client=anonymous,
            body=SignupRequest(
                passkey=invitation.passkey,
                email="reader@example.com",
                password=PASSWORD,
                display_name="Reader",
            ),
        ),
        201,
        TokenResponse,
    )

    started = step(
        "start a report job",
        report_create.sync_detailed(
            client=owner,
            body=CreateReport(
                kind=ReportKindParam.STATUS,
                from_=today - datetime.timedelta(days=6),
                to=today,
            ),
        ),
        202,
        ReportAccepted,
    )
    deadline = time.monotonic() + 60
    while True:
        job = step("wait for the job", job_get.sync_detailed(started.job.id, client=owner), 200, JobOut)
        if job.status in (JobState.SUCCEEDED, JobState.FAILED, JobState.CANCELLED):
            break
        if time.monotonic() > deadline:
            sys.exit(f"FAIL the report job is still {job.status} after 60 s")
        time.sleep(0.2)
    assert job.status == JobState.SUCCEEDED, job.error
    report = step(
        "read the report", report_get.sync_detailed(started.report.id, client=owner), 200, ReportOut
    )
    assert report.status == "ready" and report.markdown, report
    share = step(
        "create a share link",
        report_share.sync_detailed(
            report.id, client=owner, body=CreateShare(expires_in_hours=24)
        ),
        201,
        CreatedShare,
    )
    assert share.token and share.url

    me = step("read /api/me", me_get.sync_detailed(client=owner), 200, Me)
    assert me.email == "journey@example.com" and me.role == Role.OWNER
    tenant = step("read /api/tenant", tenant_get.sync_detailed(client=owner), 200, Tenant)
    assert tenant.name == "Journey Inc" and tenant.member_count == 2, tenant

    step("delete the entry", worklog_delete.sync_detailed(entry.id, client=owner), 204, type(None))
    missing = step(
        "read a deleted entry: a typed 404",
        worklog_get.sync_detailed(entry.id, client=owner),
        404,
        ErrorBody,
    )
    assert missing.error.code == ErrorCode.NOT_FOUND and missing.error.correlation_id
    invalid = step(
        "create a blank entry: a typed validation error",
        worklog_create.sync_detailed(client=owner, body=CreateEntry(content="   ")),
        422,
        ErrorBody,
    )
    assert invalid.error.code == ErrorCode.VALIDATION_FAILED
    assert [d.field for d in invalid.error.details] == ["content"], invalid.error.details
    print("journey: all steps passed")


if __name__ == "__main__":
    main()
