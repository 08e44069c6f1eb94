"""Evaluation: verdicts per series, the alert lifecycle, ticks and their schedule."""
