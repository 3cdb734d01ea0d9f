"""Files the bot builds for staff: spreadsheets and documents (one module per feature)."""
