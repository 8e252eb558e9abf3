# One image for web, worker and beat (docker-compose.yml).
# Debian 12 (bookworm): its postgresql-client-15 matches the PostgreSQL 15 of docker-compose
# (a newer pg_dump writes dumps the older server's pg_restore cannot read).
FROM python:3.11-slim-bookworm

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
WORKDIR /app

RUN useradd --create-home --uid 1000 wibawa
# pg_dump, pg_restore and psql for ops/backup and ops/restore.
RUN apt-get update && apt-get install -y --no-install-recommends postgresql-client-15 \
    && rm -rf /var/lib/apt/lists/*
COPY requirements.txt .
RUN pip install -r requirements.txt
COPY . .
# Static files (Swagger UI among them) are collected into the image and served by WhiteNoise.
RUN DEBUG=1 WHITENOISE_USE_FINDERS=0 python manage.py collectstatic --noinput
# Uploaded field-visit photos: a named volume takes this folder's owner when first created.
RUN mkdir -p /app/media && chown wibawa /app/media

USER wibawa
EXPOSE 8000
CMD ["gunicorn", "config.wsgi:application", "--bind", "0.0.0.0:8000", "--workers", "2"]
