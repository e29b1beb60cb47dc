"""Celery tasks of integrations: thin, take ids, safe to run twice (integrations/webhooks.py)."""
from celery import shared_task


@shared_task(name="integrations.deliver_webhook", acks_late=True, ignore_result=True)
def deliver_webhook(delivery_id: str, even_inactive: bool = False) -> None:
    """One attempt of a webhook delivery; the delivery is claimed first, so a duplicate returns."""
    from integrations.webhooks import delivery_attempt

    delivery_attempt(delivery_id=delivery_id, even_inactive=even_inactive)


@shared_task(name="integrations.sweep_webhooks", ignore_result=True)
def sweep_webhooks() -> None:
    """Queue again the deliveries whose task was lost (Celery beat, every LUMEN_WEBHOOK_SWEEP_SECONDS)."""
    from integrations.webhooks import sweep

    sweep()
