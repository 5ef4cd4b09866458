"""AI-Prism: AI review of investigation and risk write-ups."""
from __future__ import annotations

__version__ = "0.1.0"


def create_app(config: dict | None = None):
    """Build the Flask app: settings → extensions → blueprints → errors → CLI. No I/O at import."""
    from flask import Flask
    from werkzeug.middleware.proxy_fix import ProxyFix

    from .config import ConfigError, development_secret_key, load_settings

    settings = load_settings()
    if config:
        settings.update(config)
    if not settings.get("SECRET_KEY"):
        if settings["PRODUCTION"]:
            raise ConfigError("APP_ENV=production but these settings are missing: SECRET_KEY")
        settings["SECRET_KEY"] = development_secret_key()

    # Static files are served by app.web.assets under content-hashed names.
    app = Flask(__name__, instance_path=str(_instance_dir()), static_folder=None)
    app.config.update(settings)
    app.config.update(
        WTF_CSRF_CHECK_DEFAULT=False,  # checked in one before_request hook, Bearer requests exempt
        WTF_CSRF_TIME_LIMIT=None,  # the token lives as long as the session it belongs to
        JSON_SORT_KEYS=False,
    )
    from .inputs import init_inputs

    init_inputs(app)  # before any route is added: `<int:…>` ids are bounded
    if app.config["PROXY_COUNT"]:
        app.wsgi_app = ProxyFix(
            app.wsgi_app, x_for=app.config["PROXY_COUNT"], x_proto=app.config["PROXY_COUNT"],
            x_host=app.config["PROXY_COUNT"],
        )

    from .logs import configure_logging, init_request_ids

    configure_logging(app.config["LOG_LEVEL"], app.config["LOG_FORMAT"])
    init_request_ids(app)

    from .metrics import init_metrics

    init_metrics(app)  # first, so its timer starts before any other hook can answer

    from .auth.loading import init_auth
    from .auth.throttle import init_throttle
    from .extensions import db, redis_clients
    from .sessions import init_sessions
    from .storage import init_storage

    db.init_app(app)
    redis_clients.init_app(app)
    from .event_hub import init_event_hub

    init_event_hub(app)
    init_sessions(app)
    # First, so its request-size limit is set before any hook reads the body.
    from .security import init_security

    init_security(app)
    init_auth(app)
    init_throttle(app)
    init_storage(app)

    from .web.assets import init_assets

    init_assets(app)

    from .llm.chain import build_chain
    from .llm.offline import register_task
    from .review.rules import offline_analysis

    from .chat.service import offline_answer

    register_task("analysis", offline_analysis)
    register_task("chat", offline_answer)
    from .review.revision_prompt import offline_check

    register_task("revision_check", offline_check)

    from .review.summary_prompt import offline_summary

    register_task("summary", offline_summary)

    app.extensions["model_chain"] = build_chain(app)

    from .auth.admin_views import admin_bp
    from .auth.views import bp as auth_bp
    from .documents.views import bp as documents_bp
    from .llm.views import bp as models_bp
    from .chat.views import bp as chat_bp
    from .exports.views import bp as exports_bp
    from .review.views import bp as review_bp
    from .review.revision_views import bp as revision_bp
    from .review.insight_views import bp as insight_bp
    from .health import bp as health_bp
    from .web.pages import bp as pages_bp
    from .web.system import bp as system_bp

    app.register_blueprint(health_bp)
    app.register_blueprint(auth_bp)
    app.register_blueprint(admin_bp)
    app.register_blueprint(documents_bp)
    app.register_blueprint(models_bp)
    app.register_blueprint(review_bp)
    app.register_blueprint(revision_bp)
    app.register_blueprint(insight_bp)
    app.register_blueprint(chat_bp)
    app.register_blueprint(exports_bp)
    app.register_blueprint(pages_bp)
    app.register_blueprint(system_bp)

    from .errors import register_error_handlers

    register_error_handlers(app)

    from .cli import register_cli

    register_cli(app)
    return app


def _instance_dir():
    from .config import INSTANCE_DIR

    return INSTANCE_DIR
