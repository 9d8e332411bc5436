"""policytrace: news reports in, versioned and validated policy datasets out."""

__version__ = "0.1.0"
