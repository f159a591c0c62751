# The Mimamori services (ingest, alerts, dashboard, broker-config) in one image.
# Built by docker-compose.yml; see docs/operations.md.
FROM python:3.12-slim

# mosquitto_passwd (package mosquitto) hashes broker passwords for 'mimamori broker-config'.
RUN apt-get update \
    && apt-get install -y --no-install-recommends mosquitto \
    && rm -rf /var/lib/apt/lists/*

WORKDIR /app
COPY pyproject.toml README.md ./
COPY mimamori ./mimamori
COPY registry ./registry
COPY store ./store
COPY gateway ./gateway
COPY ingest ./ingest
COPY firmware_sim ./firmware_sim
COPY detection ./detection
COPY escalation ./escalation
COPY dashboard ./dashboard
COPY app ./app
RUN pip install --no-cache-dir .

RUN useradd --system --uid 10001 --home-dir /var/lib/mimamori mimamori \
    && mkdir -p /var/lib/mimamori && chown mimamori /var/lib/mimamori
USER mimamori
VOLUME ["/var/lib/mimamori"]
ENV PYTHONUNBUFFERED=1
CMD ["mimamori", "--help"]
