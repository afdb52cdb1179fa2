"""E-mail: messages rendered from templates (`render.py`), composed as MIME with their .ics
(`compose.py`), and handed to SMTP or written as .eml files (`transport.py`) by the outbox's
sender (`sender.py`). docs/adr/0030."""
