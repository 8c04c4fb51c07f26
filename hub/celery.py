"""The Celery application and its queues.

Queues: `default` (short tasks such as repository analysis), `eval` (evaluations), `gpu`
(fine-tuning). `make run` starts one worker consuming all three; scaled out, CPU and GPU
nodes each consume their own (`celery -A hub worker -Q gpu`).
"""
import os

from celery import Celery
from kombu import Exchange, Queue
from kombu.transport import TRANSPORT_ALIASES

# The embedded broker publishes its message files atomically (hub/broker.py explains why).
TRANSPORT_ALIASES["filesystem"] = "hub.broker:Transport"

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "hub.settings.dev")

QUEUES = ("default", "eval", "gpu")

app = Celery("hub")
app.config_from_object("django.conf:settings", namespace="CELERY")
# The same declarations `-Q` would create on the fly, written down once for every process.
app.conf.task_queues = [Queue(name, Exchange(name, type="direct"), routing_key=name) for name in QUEUES]
app.autodiscover_tasks()
