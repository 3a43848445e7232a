"""Readers and writers: the only modules (with ``export``) that touch disk."""
