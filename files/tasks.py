"""Emails for magic links and docs sign-in. Entry points take ids, never objects."""

import smtplib

from celery import shared_task

# Transient mail failures worth another try; anything else is a bug to see in the logs.
RETRY_ON = (smtplib.SMTPException, ConnectionError, TimeoutError)


@shared_task(name="files.magic_link_send", acks_late=True, autoretry_for=RETRY_ON, retry_backoff=True, max_retries=5)
def magic_link_send(link_id, token):
    """Email one magic link. Idempotent: a link already emailed is not sent again."""
    from files import services

    return services.magic_link_send(link_id=link_id, token=token)


@shared_task(name="files.magic_link_request_process", acks_late=True, autoretry_for=RETRY_ON, retry_backoff=True, max_retries=5)
def magic_link_request_process(file_id, email):
    """Decide (away from the request, so timing reveals nothing) whether to send a link."""
    from files import services

    link = services.magic_link_request_process(file_id=file_id, email=email)
    return link.id if link else None


@shared_task(name="files.docs_signin_send", acks_late=True, autoretry_for=RETRY_ON, retry_backoff=True, max_retries=5)
def docs_signin_send(handle_id, email, next_path="/"):
    """Email a docs sign-in link when the policy lets ``email`` in."""
    from files import docs

    return docs.signin_send(handle_id=handle_id, email=email, next_path=next_path)
