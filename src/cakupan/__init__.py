"""Cakupan: the open data warehouse for labour social-security coverage."""
