"""What the system hands to people: templates for clerks (``template``), feedback
workbooks for submitters (``feedback``), exports for BI (``export``) and a published
figure explained down to its rows (``explain``)."""
