"""gunicorn's settings for the web service: the Dockerfile's command and the benchmark
(`manage.py bench --phases http`) both load this file, so the figures in
docs/benchmarks.md are those of the server production runs.

Threaded workers (gthread), one process more than the CPUs, 8 threads each: a chart
spends much of its time waiting on PostgreSQL, and threads overlap those waits without
the memory and context switches of one process per request, while the extra process
keeps a CPU busy when one process's threads all wait on the GIL or a lock. On the 2-CPU
benchmark machine (2026-11-22, 20 clients): under other suites' load 2 workers x 8
threads charted 60-66 doses a second, 3 x 6 49, 4 x 4 42 and 8 sync workers 29-47; on
the quiet machine 2 x 8 93-110 (median 100), 3 x 8 97-114 (median 114), 4 x 8 115.
WEB_CONCURRENCY and GUNICORN_THREADS override the workers and threads.
"""

import os

bind = os.environ.get("GUNICORN_BIND", "0.0.0.0:8000")
worker_class = "gthread"
workers = int(os.environ.get("WEB_CONCURRENCY") or (os.cpu_count() or 1) + 1)
threads = int(os.environ.get("GUNICORN_THREADS") or 8)
keepalive = 5
# Room for a month's MAR PDF.
timeout = 120
graceful_timeout = 30
# Recycled now and then, so WeasyPrint's memory cannot creep.
max_requests = 1000
max_requests_jitter = 100
# The heartbeat files in memory, not on the container's overlay filesystem.
worker_tmp_dir = "/dev/shm" if os.path.isdir("/dev/shm") else None  # noqa: S108
accesslog = "-"
errorlog = "-"
