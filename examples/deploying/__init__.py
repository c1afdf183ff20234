"""Deployment examples: the apps and configuration of docs/deploying.rst."""
