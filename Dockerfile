# Loyalty: one image for every process (web, worker, bot, migrations); choose with the command.
# No HEALTHCHECK here: it would be inherited by the worker and the bot, which serve no HTTP.
# Each service in compose.yaml declares the check that fits it.
FROM python:3.11-slim AS base
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1 \
    LOYALTY_VAR_DIR=/var/lib/loyalty
WORKDIR /app
COPY pyproject.toml requirements.lock README.md ./
COPY shared ./shared
COPY webapp ./webapp
COPY wallet ./wallet
COPY bot ./bot
COPY notifications ./notifications
COPY loyalty ./loyalty
RUN pip install -c requirements.lock . \
    && groupadd --system --gid 10001 loyalty \
    && useradd --system --uid 10001 --gid loyalty --home-dir /var/lib/loyalty --shell /usr/sbin/nologin loyalty \
    && mkdir -p /var/lib/loyalty && chown loyalty:loyalty /var/lib/loyalty
USER loyalty:loyalty
EXPOSE 8000
# Serving only: migrations are a separate one-shot step (`loyalty db upgrade`, compose's `migrate`
# service), so several web replicas never race to migrate.
CMD ["loyalty", "serve", "--host", "0.0.0.0", "--port", "8000"]
