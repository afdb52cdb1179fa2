"""What an operator sees of a running process: health probes, logs, metrics and traces.

`logs` sets up structured logging; `requests` is the middleware that binds each request's
context, measures it and traces it; `metrics` holds the Prometheus families; `health` the
readiness checks; `routes` serves /healthz, /readyz and /metrics; `projector_health` the
projector process's heartbeat and probe port. The choices are written down in docs/adr/0023.
"""
