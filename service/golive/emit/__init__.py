"""Emitting events to golive from code, CI jobs and deploy scripts (`golive emit`).

from golive.emit import HttpEmitter, cloudevent

event = cloudevent("service.deployed", "checkout",
                   {"environment": {"id": "prod"}, "artifactId": "pkg:oci/checkout@1.4.2"},
                   id=str(uuid.uuid4()), source="ci/checkout", time=datetime.now(UTC))
async with HttpEmitter("https://golive.example.com", token) as emitter:
    await emitter.send([event])
"""

from golive.emit.events import cloudevent, full_type
from golive.emit.senders import EmitError, HttpEmitter, KafkaEmitter, Rejected

__all__ = ["EmitError", "HttpEmitter", "KafkaEmitter", "Rejected", "cloudevent", "full_type"]
