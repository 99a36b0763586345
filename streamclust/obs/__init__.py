"""Observability adapters: structured logs, Prometheus metrics, the HTTP endpoints."""
