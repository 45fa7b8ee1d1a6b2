# syntax=docker/dockerfile:1.7
# reauto container images.
#
#   docker build -t reauto .                      # CPU image (the default target: runtime)
#   docker build -t reauto:gpu --target gpu .     # CUDA image with faster-whisper speech recognition
#   docker run --rm -p 8080:8080 -e REAUTO_DATABASE_URL=postgresql+psycopg://… reauto
#
# reauto is installed in editable mode from /app (its Alembic migrations ship inside the package,
# reauto/migrations/), with /app copied next to the virtual environment /opt/venv.
# Settings come from REAUTO_* variables (see reauto.toml for every key); data (recordings, an
# embedded SQLite file) goes to /var/lib/reauto. docs/operations.md describes the deployment.

ARG PYTHON_IMAGE=python:3.11-slim-bookworm
ARG CUDA_IMAGE=nvidia/cuda:12.6.3-cudnn-runtime-ubuntu24.04
ARG EXTRAS=postgres,redis,twilio,ollama

# ---------------------------------------------------------------------------------------------
# builder: reauto and its extras in /opt/venv
FROM ${PYTHON_IMAGE} AS builder
ARG EXTRAS
ARG DEBIAN_FRONTEND=noninteractive
RUN apt-get update \
 && apt-get install -y --no-install-recommends build-essential \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /app
COPY pyproject.toml README.md alembic.ini ./
COPY reauto ./reauto
COPY campaigns ./campaigns
COPY prompts ./prompts
COPY scripts ./scripts
RUN --mount=type=cache,target=/root/.cache/pip \
    python -m venv /opt/venv \
 && /opt/venv/bin/pip install -U pip \
 && /opt/venv/bin/pip install -e "/app[${EXTRAS}]" \
 && /opt/venv/bin/reauto version

# ---------------------------------------------------------------------------------------------
# gpu-builder: the same on the CUDA image (Python 3.12 of Ubuntu 24.04), plus faster-whisper
FROM ${CUDA_IMAGE} AS gpu-builder
ARG EXTRAS
ARG DEBIAN_FRONTEND=noninteractive
RUN apt-get update \
 && apt-get install -y --no-install-recommends python3 python3-venv python3-dev build-essential \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /app
COPY pyproject.toml README.md alembic.ini ./
COPY reauto ./reauto
COPY campaigns ./campaigns
COPY prompts ./prompts
COPY scripts ./scripts
RUN --mount=type=cache,target=/root/.cache/pip \
    python3 -m venv /opt/venv \
 && /opt/venv/bin/pip install -U pip \
 && /opt/venv/bin/pip install -e "/app[${EXTRAS},whisper,gpu]" \
 && /opt/venv/bin/reauto version

# ---------------------------------------------------------------------------------------------
# gpu: reauto with faster-whisper on CUDA. No model is downloaded at run time: mount a
# CTranslate2 Whisper model directory at /models/whisper (or set REAUTO_STT__FASTER_WHISPER__MODEL), and
# run with the NVIDIA container toolkit: docker run --gpus all … reauto:gpu
FROM ${CUDA_IMAGE} AS gpu
ARG DEBIAN_FRONTEND=noninteractive
RUN apt-get update \
 && apt-get install -y --no-install-recommends python3 flite sox espeak-ng libpq5 \
 && rm -rf /var/lib/apt/lists/*
RUN useradd --system --uid 10001 --user-group --home-dir /var/lib/reauto --create-home \
      --shell /usr/sbin/nologin reauto
COPY --from=gpu-builder /opt/venv /opt/venv
COPY --from=gpu-builder /app /app
ENV PATH=/opt/venv/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    REAUTO_CAMPAIGNS_DIR=/app/campaigns \
    REAUTO_PROMPTS_DIR=/app/prompts \
    REAUTO_TWILIO_LISTEN_HOST=0.0.0.0 \
    REAUTO_TWILIO_LISTEN_PORT=8080 \
    REAUTO_STT_PROVIDER=faster-whisper \
    REAUTO_STT__FASTER_WHISPER__MODEL=/models/whisper \
    REAUTO_STT__FASTER_WHISPER__DEVICE=cuda \
    REAUTO_STT__FASTER_WHISPER__COMPUTE_TYPE=float16
WORKDIR /var/lib/reauto
VOLUME ["/var/lib/reauto"]
USER reauto
EXPOSE 8080
HEALTHCHECK --interval=30s --timeout=5s --start-period=60s --retries=3 \
  CMD ["python", "-c", "import os, urllib.request; urllib.request.urlopen('http://127.0.0.1:%s/healthz' % os.environ.get('REAUTO_TWILIO_LISTEN_PORT', '8080'), timeout=4)"]
CMD ["reauto", "serve"]

# ---------------------------------------------------------------------------------------------
# runtime (default): reauto serve on 8080 with the embedded speech models (pocketsphinx, Piper)
FROM ${PYTHON_IMAGE} AS runtime
ARG DEBIAN_FRONTEND=noninteractive
RUN apt-get update \
 && apt-get install -y --no-install-recommends flite sox espeak-ng libpq5 \
 && rm -rf /var/lib/apt/lists/*
RUN useradd --system --uid 10001 --user-group --home-dir /var/lib/reauto --create-home \
      --shell /usr/sbin/nologin reauto
COPY --from=builder /opt/venv /opt/venv
COPY --from=builder /app /app
ENV PATH=/opt/venv/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    REAUTO_CAMPAIGNS_DIR=/app/campaigns \
    REAUTO_PROMPTS_DIR=/app/prompts \
    REAUTO_TWILIO_LISTEN_HOST=0.0.0.0 \
    REAUTO_TWILIO_LISTEN_PORT=8080
WORKDIR /var/lib/reauto
VOLUME ["/var/lib/reauto"]
USER reauto
EXPOSE 8080
# SIGTERM stops new dials and lets calls in progress finish: give containers that dial a long
# stop timeout (docker stop -t 960, compose stop_grace_period).
STOPSIGNAL SIGTERM
HEALTHCHECK --interval=30s --timeout=5s --start-period=60s --retries=3 \
  CMD ["python", "-c", "import os, urllib.request; urllib.request.urlopen('http://127.0.0.1:%s/healthz' % os.environ.get('REAUTO_TWILIO_LISTEN_PORT', '8080'), timeout=4)"]
CMD ["reauto", "serve"]
