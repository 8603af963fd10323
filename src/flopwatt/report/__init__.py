"""Human-readable rendering of results (text tables now; figures and HTML later)."""
