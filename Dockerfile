# MedTech eMAR: one image for web (gunicorn), Celery worker, Celery beat and migrations.
# docker-compose.yml says which command each service runs.
FROM python:3.11-slim-bookworm

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    DJANGO_SETTINGS_MODULE=medtech.settings \
    MEDIA_ROOT=/var/lib/medtech/media \
    WEB_CONCURRENCY=3

# WeasyPrint (printed MAR) needs Pango and HarfBuzz's subsetter; the fonts are what it prints with.
# Unpinned on purpose: bookworm's security updates replace the old versions in the archive.
# hadolint ignore=DL3008
RUN apt-get update \
    && apt-get install -y --no-install-recommends \
        libpango-1.0-0 libpangoft2-1.0-0 libharfbuzz-subset0 fonts-dejavu-core fonts-liberation2 \
    && rm -rf /var/lib/apt/lists/*

RUN groupadd --system --gid 10001 medtech \
    && useradd --system --uid 10001 --gid medtech --create-home --home-dir /home/medtech \
        --shell /usr/sbin/nologin medtech \
    && install -d -o medtech -g medtech /var/lib/medtech/media /var/lib/medtech/beat

WORKDIR /app

# The runtime lock: the same versions the suite ran against, without the test tools and the
# embedded development servers (requirements-dev.lock adds those).
COPY requirements.lock ./
RUN pip install -r requirements.lock

COPY . .

# Settings read these at import time but connect to nothing; nothing here reaches a server.
RUN SECRET_KEY=collectstatic-only \
    DATABASE_URL=postgres://build@127.0.0.1:9/build \
    REDIS_URL=redis://127.0.0.1:9/0 \
    DEBUG=0 \
    python manage.py collectstatic --no-input --verbosity 0

# Numeric, so a runtime can check it is not root without reading /etc/passwd.
USER 10001:10001
EXPOSE 8000

# Threads let one worker wait on Postgres or Redis while another renders; --timeout leaves room
# for a month's MAR PDF; max-requests recycles workers so WeasyPrint's memory cannot creep.
CMD ["gunicorn", "medtech.wsgi:application", \
     "--bind", "0.0.0.0:8000", \
     "--worker-class", "gthread", "--threads", "4", \
     "--timeout", "120", "--graceful-timeout", "30", \
     "--max-requests", "1000", "--max-requests-jitter", "100", \
     "--worker-tmp-dir", "/dev/shm", \
     "--access-logfile", "-", "--error-logfile", "-"]
