"""Daily, weekly and monthly reports: their content (model), computed by store.reports."""
