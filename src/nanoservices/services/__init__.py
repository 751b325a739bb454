"""The talk's services, shipped for real: hashing, WMO forecasts, people queries."""
