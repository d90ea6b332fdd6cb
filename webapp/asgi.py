"""ASGI entry point for uvicorn: settings from the environment."""

from shared.config import load_settings
from webapp.app import create_app

app = create_app(load_settings())
