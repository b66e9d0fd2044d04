"""The Kubernetes custom (and external) metrics API, served from the worker heartbeats, so that an HPA
scales worker pods on inference metrics on a cluster with nothing else installed."""
