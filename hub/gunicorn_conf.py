"""Gunicorn settings for the hub.

Threads, not only processes: a download streams for minutes and must not hold the only
worker, so the API stays responsive while slow clients drain files (bench/ measures it).
The worker is gthread with the hub's slow-client protections (hub/gunicorn_worker.py: request
heads and small bodies read by the event loop, time limits on streamed bodies, a bound per
client); HUB_SLOW_CLIENT_GUARD=0 runs stock gthread instead (for comparison in bench/).
"""
import os

import gunicorn.http.wsgi

wsgi_app = "hub.wsgi:application"
bind = f"127.0.0.1:{os.environ.get('HUB_PORT', '8000')}"
workers = int(os.environ.get("HUB_WEB_WORKERS", "2"))
_guard = os.environ.get("HUB_SLOW_CLIENT_GUARD", "1").strip().lower() not in ("0", "false", "no", "off")
worker_class = "hub.gunicorn_worker.HubThreadWorker" if _guard else "gthread"
threads = int(os.environ.get("HUB_WEB_THREADS", "16"))
timeout = 300  # a worker silent for this long (not a streaming one) is restarted
graceful_timeout = 20
keepalive = 5
accesslog = os.environ.get("HUB_ACCESS_LOG", "-") or None  # empty: no access log
# gunicorn's default line, then the response's X-Request-Id (hub/http/request_id.py): the id
# huggingface_hub shows in its error messages finds the request here.
access_log_format = '%(h)s %(l)s %(u)s %(t)s "%(r)s" %(s)s %(b)s "%(f)s" "%(a)s" rid=%({x-request-id}o)s'
errorlog = "-"
# The default limit (4094) is too short for long ranged URLs of deep paths.
limit_request_line = 8190
# gunicorn's runtime control socket defaults to one path per user (~/.gunicorn/gunicorn.ctl):
# two hubs on one machine (tests, a second instance) would steal each other's. Unused here.
control_socket_disable = True

# Responses must not advertise the server software and its version (`Server: gunicorn`): the
# header is set from this module global when each response is built, in every worker.
gunicorn.http.wsgi.SERVER = "hub"
