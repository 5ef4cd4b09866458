# One image for the App Runner and ECS Fargate route: the web process by default, the worker and the
# scheduler by overriding the command. The commands are the Procfile's (a test keeps them in step).
#   docker build -t ai-prism .
#   docker run -p 8000:8000 --env-file prod.env ai-prism                                  # web
#   docker run --env-file prod.env ai-prism flask --app application worker                # worker
#   docker run --env-file prod.env ai-prism flask --app application scheduler             # scheduler
#   docker run --env-file prod.env ai-prism python -m scripts.migrate                     # migrations, once per release
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PORT=8000 \
    PROMETHEUS_MULTIPROC_DIR=/tmp/ai-prism-metrics

WORKDIR /app
COPY requirements.txt .
RUN pip install -r requirements.txt

COPY . .
RUN useradd --system --uid 10001 --home-dir /app app \
    && mkdir -p /app/instance /tmp/ai-prism-metrics \
    && chown -R app /app/instance /tmp/ai-prism-metrics
USER app

LABEL ai-prism.process.web="gunicorn -c gunicorn.conf.py application:application" \
      ai-prism.process.worker="flask --app application worker" \
      ai-prism.process.scheduler="flask --app application scheduler"

EXPOSE 8000
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 \
    CMD python -c "import os, urllib.request; urllib.request.urlopen('http://127.0.0.1:%s/health' % os.environ.get('PORT', '8000'), timeout=4)"
CMD ["gunicorn", "-c", "gunicorn.conf.py", "application:application"]
