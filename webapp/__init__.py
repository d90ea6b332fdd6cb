"""The web process: POS API, cabinet, console, PassKit service and bot webhook."""
