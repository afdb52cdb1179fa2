"""The dashboards of an engagement and of an organisation's history, and their CSV and Excel exports."""
