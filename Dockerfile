# The mar-tools serving runtime for KServe: `mar serve --kserve` in place of KServe's
# TorchServe runtime (docs/scale.md). Build from the repository root:
#
#   docker build -t REGISTRY/mar-tools-kserve:VERSION .
#   docker build --build-arg TORCH_INDEX=https://download.pytorch.org/whl/cu124 -t ...-gpu .
#
# then print the manifests with `mar kserve manifests --image REGISTRY/mar-tools-kserve:VERSION
# --storage-uri URI`. KServe mounts the model at /mnt/models; the runtime answers KServe's
# protocol on 8080 and TorchServe's metrics on the metrics_address of config.properties.
FROM python:3.11-slim-bookworm

# torch comes from PyTorch's own index (the CPU build by default: a few hundred MB, not GBs).
ARG TORCH_INDEX=https://download.pytorch.org/whl/cpu
ARG TORCH_VERSION=2.13.0

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    MAR_CACHE_DIR=/home/model-server/.cache/mar-tools

RUN pip install --index-url "${TORCH_INDEX}" "torch==${TORCH_VERSION}"

COPY pyproject.toml README.md CHANGELOG.md /src/
COPY mar_tools /src/mar_tools
COPY torch_model_archiver /src/torch_model_archiver
COPY schemas /src/schemas
RUN pip install "/src[serve,run]" && rm -rf /src

# KServe runs the container as a non-root user; the extraction cache and per-model
# environments live in its home.
RUN useradd --create-home --uid 1000 model-server
USER 1000
WORKDIR /home/model-server

EXPOSE 8080 8082
CMD ["mar", "serve", "--kserve", "--kserve-root=/mnt/models", "--kserve-address=http://0.0.0.0:8080", "--disable-token-auth"]
