"""The leader publishes each closed period's report: stored, then sent to the webhook."""
