from tests.review.conftest import bedrock_app, bedrock_settings, fake, reviewer, worker_env  # noqa: F401
