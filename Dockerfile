# labctl service on the embedded simulated bench.
#
#   docker build -t labctl .
#   docker run -p 8765:8765 -e LABCTL_TOKEN=$(openssl rand -hex 24) -v labctl-data:/data labctl
#
# Installed exactly as the README does it: ./scripts/bootstrap.sh creates .venv and runs
# `pip install -c constraints.txt -e ".[dev]"`. The extra index gives pip the CPU build of torch.
# The container binds 0.0.0.0, so the service refuses to start without LABCTL_TOKEN (>= 16 characters);
# clients send it as `Authorization: Bearer <token>` (`labctl jobs --token` or LABCTL_TOKEN).
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_EXTRA_INDEX_URL=https://download.pytorch.org/whl/cpu

WORKDIR /opt/labctl
COPY . .
RUN ./scripts/bootstrap.sh \
    && useradd --system --create-home labctl \
    && mkdir -p /data && chown labctl /data

ENV PATH=/opt/labctl/.venv/bin:$PATH
USER labctl
VOLUME ["/data"]
EXPOSE 8765

# --config FILE (a service YAML listing bench YAMLs) to own real benches instead of the simulated one
CMD ["labctl", "serve", "--host", "0.0.0.0", "--port", "8765", "--store", "/data"]
