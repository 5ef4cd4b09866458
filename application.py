"""Entry point for gunicorn and Elastic Beanstalk: ``application = create_app()``."""
from app import create_app

application = create_app()
