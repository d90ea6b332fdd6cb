"""The notifier: outbox consumer, routing, channels, providers, templates, scheduler."""
