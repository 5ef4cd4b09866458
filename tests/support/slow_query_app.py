"""The app as gunicorn serves it, plus two routes that only the gevent database-I/O test uses: one
whose query sleeps in PostgreSQL (pg_sleep) and one with a quick query. Not part of the product."""
from flask import request
from sqlalchemy import text

from app import create_app
from app.extensions import db

application = create_app()


@application.get("/test/query")
def query():
    seconds = float(request.args.get("sleep", "0"))
    db.session.execute(text("SELECT pg_sleep(:s)"), {"s": seconds})
    db.session.commit()
    return {"slept": seconds}
