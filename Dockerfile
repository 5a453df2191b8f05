# The Python service image: API, worker and migrations share it.
FROM python:3.11-slim-bookworm

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_DISABLE_PIP_VERSION_CHECK=1 \
    HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1
RUN apt-get update \
 && apt-get install -y --no-install-recommends build-essential cmake curl \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /app

# CPU torch first, so sentence-transformers does not pull a CUDA build.
RUN pip install --index-url https://download.pytorch.org/whl/cpu torch==2.13.0
COPY pyproject.toml README.md alembic.ini ./
COPY ai_backend ai_backend
COPY worker worker
COPY migrations migrations
# llama.cpp for any x86-64 with AVX2, not the build host's CPU (a native build may use AMX
# tiles, which a VM that does not enable them answers with SIGILL).
ENV CMAKE_ARGS="-DGGML_NATIVE=OFF -DGGML_AVX=ON -DGGML_AVX2=ON -DGGML_FMA=ON -DGGML_F16C=ON"
RUN pip install .

RUN useradd --create-home --uid 10001 daodao
USER daodao
EXPOSE 8000
CMD ["uvicorn", "ai_backend.app:factory", "--factory", "--host", "0.0.0.0", "--port", "8000", \
     "--loop", "uvloop", "--http", "httptools", "--no-access-log"]
