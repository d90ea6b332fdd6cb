"""ASGI entry point for uvicorn: settings from the environment."""

from shared.config import load_settings
from webapp.app import create_app
from webapp.logs import configure_logging

settings = load_settings()
configure_logging(settings)  # also in each process `loyalty serve --workers N` starts
app = create_app(settings)
