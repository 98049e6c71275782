"""gunicorn's configuration, the same for the image (Dockerfile), docker-compose.yml and CI's
production smoke (.ci/prod_smoke): ``gunicorn -c gunicorn.conf.py reactivation.wsgi:application``.

The request line and headers are capped here (a request past them is refused with 414 or 400
before Django sees it); the body is capped by the proxy in front (``client_max_body_size``) and
by Django before it reads it (``UPLOAD_MAX_BYTES``, ``DATA_UPLOAD_MAX_MEMORY_SIZE``); see
docs/operations.md.
"""

import os

bind = os.environ.get("GUNICORN_BIND", "0.0.0.0:8000")
workers = int(os.environ.get("GUNICORN_WORKERS", "3"))
# A page answers in well under a second; an export streams. A worker stuck past this is killed
# and replaced, and the request gets a 502 from the proxy instead of hanging.
timeout = int(os.environ.get("GUNICORN_TIMEOUT", "60"))
graceful_timeout = 30
# Restart each worker now and then, so a slow leak in any library never grows for good.
max_requests = 2000
max_requests_jitter = 200
# A request line of 8 KB (a long filter link still fits), at most 100 headers of 8 KB each.
limit_request_line = 8190
limit_request_fields = 100
limit_request_field_size = 8190
accesslog = "-"
errorlog = "-"
