"""Balkort's application layer: settings, composition root, application services, HTTP API and CLI."""
