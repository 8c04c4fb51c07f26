"""Gunicorn settings for the hub.

Threads, not only processes: a download streams for minutes and must not hold the only
worker, so the API stays responsive while slow clients drain files (bench/ measures it).
"""
import os

wsgi_app = "hub.wsgi:application"
bind = f"127.0.0.1:{os.environ.get('HUB_PORT', '8000')}"
workers = int(os.environ.get("HUB_WEB_WORKERS", "2"))
worker_class = "gthread"
threads = int(os.environ.get("HUB_WEB_THREADS", "16"))
timeout = 300  # a worker silent for this long (not a streaming one) is restarted
graceful_timeout = 20
keepalive = 5
accesslog = os.environ.get("HUB_ACCESS_LOG", "-") or None  # empty: no access log
errorlog = "-"
# The default limit (4094) is too short for long ranged URLs of deep paths.
limit_request_line = 8190
# gunicorn's runtime control socket defaults to one path per user (~/.gunicorn/gunicorn.ctl):
# two hubs on one machine (tests, a second instance) would steal each other's. Unused here.
control_socket_disable = True
