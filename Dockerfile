FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1
WORKDIR /app
COPY setup.py README.md ./
COPY tconnectsync ./tconnectsync
RUN pip install . && useradd --create-home --uid 10001 tconnectsync
USER tconnectsync
WORKDIR /home/tconnectsync
# Settings come from the environment (docker run --env-file .env); no .env is baked in.
ENTRYPOINT ["tconnectsync"]
