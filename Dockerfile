# Lumen PACS image: one image, three roles (web, worker, dicom) chosen by the compose command.

# The diagnostic viewer (frontend/src, Vite + TypeScript) is built in its own stage; only the
# built files reach the image, where collectstatic hashes them with the rest.
FROM node:20-bookworm-slim AS viewer
WORKDIR /frontend
COPY frontend/package.json frontend/package-lock.json ./
RUN npm ci --no-audit --no-fund --loglevel=error
COPY frontend/ ./
RUN npm run build -- --logLevel error

FROM python:3.11-slim-bookworm

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 LUMEN_DATA_DIR=/data
WORKDIR /app

# DejaVu Sans: the report PDF embeds it for names beyond Latin-1 (reports/outputs/fonts.py).
RUN apt-get update && apt-get install -y --no-install-recommends fonts-dejavu-core \
    && rm -rf /var/lib/apt/lists/*

COPY requirements.txt .
RUN pip install --no-cache-dir -r requirements.txt

COPY . .
COPY --from=viewer /frontend/static/frontend/viewer frontend/static/frontend/viewer
RUN SECRET_KEY=build-only python manage.py collectstatic --noinput -v0 \
    && useradd --system --uid 1000 lumen && mkdir -p /data && chown lumen /data
USER lumen

EXPOSE 8000 11112
CMD ["gunicorn", "pacs.wsgi", "--bind", "0.0.0.0:8000", "--workers", "3", "--threads", "4", "--timeout", "300"]
