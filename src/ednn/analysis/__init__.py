"""Analyses and figures."""
