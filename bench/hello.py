"""A bare Flask app answering "hello": the baseline the load test compares our throughput with,
served by the same gunicorn.conf.py (`gunicorn -c gunicorn.conf.py bench.hello:application`)."""
from flask import Flask

application = Flask(__name__)


@application.get("/")
def hello():
    return "hello"
