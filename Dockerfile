# Lumen PACS image: one image, three roles (web, worker, dicom) chosen by the compose command.
FROM python:3.11-slim-bookworm

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 LUMEN_DATA_DIR=/data
WORKDIR /app

COPY requirements.txt .
RUN pip install --no-cache-dir -r requirements.txt

COPY . .
RUN SECRET_KEY=build-only python manage.py collectstatic --noinput -v0 \
    && useradd --system --uid 1000 lumen && mkdir -p /data && chown lumen /data
USER lumen

EXPOSE 8000 11112
CMD ["gunicorn", "pacs.wsgi", "--bind", "0.0.0.0:8000", "--workers", "3", "--threads", "4", "--timeout", "300"]
