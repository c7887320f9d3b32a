# tconnectsync as a container: the daemon by default, or the web app (see the README's "With Docker").
# Python: the version Pipfile.lock is made for (its _meta.requires.python_version).
FROM python:3.13-slim

# DL3064: TCONNECTSYNC_TOKEN_FILE is where the token cache goes (a path), not a secret.
# hadolint ignore=DL3064
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    TCONNECTSYNC_STATE_DIR=/data \
    TCONNECTSYNC_STATUS_FILE=/data/status.json \
    TCONNECTSYNC_TOKEN_FILE=/data/tandem-source-tokens.json
WORKDIR /app

# Dependencies in their own layer, rebuilt only when Pipfile.lock changes: exactly the versions
# (and files, by hash) Heroku installs from the same lock, the web extra included.
COPY Pipfile.lock scripts/requirements_from_lock.py ./
RUN python requirements_from_lock.py Pipfile.lock > requirements.lock \
    && pip install --require-hashes -r requirements.lock

# The code, on top; its dependencies are the layer above, and pip check proves them complete.
COPY pyproject.toml setup.py README.md ./
COPY tconnectsync ./tconnectsync
RUN pip install --no-deps . \
    && pip check \
    && useradd --create-home --uid 10001 --user-group tconnectsync \
    && mkdir -p /data \
    && chown 10001:10001 /data

# State (the Tandem Source token cache, the status file, the web app's run history) survives
# a new container. Settings come from the environment (docker run --env-file); no .env is baked in.
VOLUME ["/data"]
USER 10001:10001
WORKDIR /home/tconnectsync

# Healthy while the status file shows a successful sync, or a poll of Tandem with no failed sync
# since, within TCONNECTSYNC_HEALTH_MAX_AGE_MINS (60): it reads the file, no network.
HEALTHCHECK --interval=5m --timeout=20s --start-period=10m --retries=2 \
    CMD ["python", "-m", "tconnectsync.web.health"]

ENTRYPOINT ["tconnectsync"]
CMD ["--auto-update"]
