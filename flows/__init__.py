"""Prefect flows of policytrace (thin: each task calls one plain function of the library)."""
