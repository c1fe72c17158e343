# One image for the API, the workers and the migration step.
FROM python:3.11-slim-bookworm
RUN apt-get update \
 && apt-get install -y --no-install-recommends fonts-noto-cjk libpango-1.0-0 libpangoft2-1.0-0 libharfbuzz-subset0 fontconfig procps \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /srv
COPY pyproject.toml README.md ./
COPY app app
COPY kernel kernel
COPY accounts accounts
COPY audit audit
COPY registry registry
COPY subsidies subsidies
COPY certificates certificates
COPY workers workers
COPY reviews reviews
COPY calendar_days calendar_days
COPY piccolo_conf.py ./
RUN pip install --no-cache-dir .
ENV HOST=0.0.0.0 PORT=8000
