"""What Cakupan ships for BI tools on top of the marts: the Superset dashboard."""
