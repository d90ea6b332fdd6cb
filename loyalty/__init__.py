"""Entry points: the `loyalty` CLI, the ASGI app and the long-running processes, assembled from the
other packages. Nothing imports this package (tests aside)."""
