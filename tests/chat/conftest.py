from tests.review.conftest import bedrock_app, bedrock_settings, fake, reviewer  # noqa: F401  (shared fixtures)
