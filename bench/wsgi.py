"""gunicorn entry point of benchmark runs only: the product with ``bench.urls``
as its urlconf (the product's URLs plus the bare baselines). Never deployed."""

import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "medtech.settings_bench")

application = get_wsgi_application()

from django.conf import settings  # noqa: E402 - after setup, as wsgi.py does

settings.ROOT_URLCONF = "bench.urls"
