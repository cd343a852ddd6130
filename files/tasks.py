"""Entry points of the files jobs: emails for magic links and docs sign-in (bodies in
``files.services`` and ``files.docs``). Entry points take ids, never objects."""

import smtplib

from files import docs, services
from gharart.jobs import job

# Transient mail failures worth another try; anything else is a bug to see in the logs.
RETRY_ON = (smtplib.SMTPException, ConnectionError, TimeoutError)


@job("files.magic_link_send", autoretry_for=RETRY_ON, max_retries=5)
def magic_link_send(link_id, token):
    """Email one magic link. Idempotent: a link already emailed is not sent again."""
    return services.magic_link_send(link_id=link_id, token=token)


@job("files.magic_link_request_process", autoretry_for=RETRY_ON, max_retries=5)
def magic_link_request_process(file_id, email):
    """Decide (away from the request, so timing reveals nothing) whether to send a link."""
    link = services.magic_link_request_process(file_id=file_id, email=email)
    return link.id if link else None


@job("files.docs_signin_send", autoretry_for=RETRY_ON, max_retries=5)
def docs_signin_send(handle_id, email, next_path="/"):
    """Email a docs sign-in link when the policy lets ``email`` in."""
    return docs.signin_send(handle_id=handle_id, email=email, next_path=next_path)
