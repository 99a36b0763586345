# The streamclust worker. Built by docker-compose.yml (service worker), or on its own:
#
#   docker build -t streamclust .
#   docker run --rm streamclust run --config configs/default.yaml --bootstrap broker-1:9092
#
# torch comes as CPU wheels from PyTorch's index (the default PyPI build brings CUDA libraries a CPU worker never
# uses); the static embedding model is distilled at build time, so a new container labels at once instead of
# spending its first 40 s distilling.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

# The worker runs as a user of its own; its model cache is /home/streamclust/.cache/streamclust.
RUN useradd --create-home --uid 10001 streamclust
WORKDIR /app

COPY pyproject.toml README.md ./
COPY streamclust ./streamclust
RUN pip install --extra-index-url https://download.pytorch.org/whl/cpu .
COPY configs ./configs

USER streamclust
# Prepare the featurizer of the preset the worker runs once: this distils the static model into the cache.
RUN streamclust config prepare --config configs/default.yaml

# /metrics, /healthz, /readyz, /clusters (http.port); give STREAMCLUST_HTTP__HOST=0.0.0.0 to reach it
EXPOSE 9464
ENTRYPOINT ["streamclust"]
CMD ["run", "--config", "configs/default.yaml"]
