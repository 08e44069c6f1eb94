"""Scheduled performance reports: questions to AE, the alert history, and their renderings."""
