# impactlog service image.
#   docker build -t impactlog .
#   docker run --rm -e DATABASE_URL=postgresql://… impactlog impactlog migrate
#   docker run -p 8000:8000 -e DATABASE_URL=postgresql://… impactlog
# Without DATABASE_URL the embedded PostgreSQL starts under IMPACTLOG_DATA_DIR (demo use only;
# mount a volume there). See docs/operations.md.

FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

# The service never runs as root: as root the embedded server would create a `pgserver` user
# and make every parent of its data directory world-readable.
RUN groupadd --system --gid 10001 impactlog \
 && useradd --system --uid 10001 --gid impactlog --home-dir /home/impactlog --create-home \
        --shell /usr/sbin/nologin impactlog \
 && install -d -o impactlog -g impactlog -m 0750 /var/lib/impactlog

WORKDIR /app

# Dependencies first, read from pyproject.toml alone, so a code change does not reinstall them.
COPY pyproject.toml ./
RUN python -c "import tomllib; print('\n'.join(tomllib.load(open('pyproject.toml', 'rb'))['project']['dependencies']))" \
        > /tmp/requirements.txt \
 && pip install -r /tmp/requirements.txt \
 && rm /tmp/requirements.txt

# The code and the migrations. An editable install keeps the packages at /app, so the default
# migrations directory (migrations/ beside the packages) is /app/migrations; the variable below
# says so explicitly. A plain `pip install .` would not ship migrations/ at all.
COPY . /app
RUN pip install --no-deps -e /app \
 && impactlog --help > /dev/null \
 && test -n "$(ls /app/migrations/*.sql)"

ENV IMPACTLOG_HOST=0.0.0.0 \
    IMPACTLOG_PORT=8000 \
    IMPACTLOG_MIGRATIONS_DIR=/app/migrations \
    IMPACTLOG_DATA_DIR=/var/lib/impactlog

USER 10001:10001
EXPOSE 8000

# /health answers 503 when the database is unreachable; urlopen raises on any non-2xx status.
# (No curl in the slim image.)
HEALTHCHECK --interval=15s --timeout=5s --start-period=30s --retries=3 \
    CMD ["python", "-c", "import os, urllib.request; urllib.request.urlopen('http://127.0.0.1:' + os.environ.get('IMPACTLOG_PORT', '8000') + '/health', timeout=4)"]

# Exec form: impactlog is PID 1 and gets the stop signal directly. SIGINT rather than SIGTERM:
# uvicorn shuts down gracefully on both, but re-raises the signal afterwards, and only after
# SIGINT do Python's exit handlers run, which stop the embedded database (when used) cleanly.
STOPSIGNAL SIGINT
CMD ["impactlog", "serve"]
