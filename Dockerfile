# Loyalty: one image for every process (web, worker, bot); choose with the command.
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
RUN pip install -c requirements.lock . && useradd --system --home /var/lib/loyalty loyalty \
    && mkdir -p /var/lib/loyalty && chown loyalty /var/lib/loyalty
USER loyalty
EXPOSE 8000
HEALTHCHECK CMD python -c "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8000/healthz')"
CMD ["sh", "-c", "loyalty db upgrade && loyalty serve --host 0.0.0.0 --port 8000 --workers 2"]
