# MedTech eMAR: one image for web (gunicorn), Celery worker, Celery beat and migrations.
# docker-compose.yml says which command each service runs.
FROM python:3.11-slim-bookworm

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    DJANGO_SETTINGS_MODULE=medtech.settings \
    MEDIA_ROOT=/var/lib/medtech/media

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

# gunicorn.conf.py holds the server's settings (gthread workers, one per CPU, 8 threads each;
# timeouts; worker recycling): the same file the benchmark (docs/benchmarks.md) runs with.
# WEB_CONCURRENCY and GUNICORN_THREADS override the workers and threads.
CMD ["gunicorn", "medtech.wsgi:application", "--config", "gunicorn.conf.py"]
