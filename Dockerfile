# The production image: one image for web (gunicorn), worker and beat (see docker-compose.yml).
FROM python:3.11-slim-bookworm

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

RUN apt-get update \
    && apt-get install -y --no-install-recommends gettext postgresql-client \
    && rm -rf /var/lib/apt/lists/*

WORKDIR /app
COPY requirements.lock /app/requirements.lock
RUN pip install --require-hashes --no-deps -r requirements.lock

COPY . /app
# Build-time only values: the real secret and hosts come from the environment at run time.
# Debug off, so collectstatic writes the manifest storage's hashed, compressed files; CI runs
# these same two commands the same way (.ci/prod_smoke).
RUN DJANGO_DEBUG=0 SECRET_KEY=build-only ALLOWED_HOSTS=localhost python manage.py compilemessages --ignore=.venv -v 0 \
    && DJANGO_DEBUG=0 SECRET_KEY=build-only ALLOWED_HOSTS=localhost python manage.py collectstatic --noinput -v 0

RUN useradd --create-home --uid 1000 crm && mkdir -p /app/media && chown -R crm /app/media
USER crm

EXPOSE 8000
# gunicorn.conf.py: bind 0.0.0.0:8000, 3 workers, 60 s timeout, request line and header caps.
CMD ["gunicorn", "-c", "gunicorn.conf.py", "reactivation.wsgi:application"]
