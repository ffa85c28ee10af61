"""Postprocessing: representation functions from trained models."""
