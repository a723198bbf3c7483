"""Settings of benchmark runs (``make bench``): the product's, with the benchmark app
(its commands and bare baseline views) installed. Never deployed."""

from medtech.settings import *  # noqa: F403
from medtech.settings import INSTALLED_APPS

INSTALLED_APPS = [*INSTALLED_APPS, "bench"]
