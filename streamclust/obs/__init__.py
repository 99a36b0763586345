"""The observers: structured logs, Prometheus metrics, the HTTP endpoints, the live view, the progress log and the
run's timeline. They read the reports of the observer contract (``streamclust/observer.py``) and never import
the adapters (``io/``) that send them, nor ``report/`` (which reads the timeline they write).
"""
