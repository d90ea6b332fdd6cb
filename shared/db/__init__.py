"""Storage: models (`shared.db.models`), the engine (`shared.db.engine`), migrations (`shared.db.migrate`)."""
