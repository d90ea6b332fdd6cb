"""Telegram bot (aiogram 3): registration, balance, card, history, settings."""
