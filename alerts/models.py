"""Alert records arrive with the alerts issue."""
