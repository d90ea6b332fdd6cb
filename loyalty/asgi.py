"""ASGI entry point for uvicorn: settings from the environment, the runtime and (in webhook mode) the bot."""

from loyalty.processes import create_telegram_for
from shared.config import load_settings
from shared.core import Core
from webapp.app import create_app
from webapp.logs import configure_logging

settings = load_settings()
configure_logging(settings)  # also in each process `loyalty serve --workers N` starts
core = Core(settings)
app = create_app(settings, core=core, telegram=create_telegram_for(core, settings))
