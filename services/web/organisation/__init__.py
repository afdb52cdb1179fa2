"""A client organisation's own administration pages: its units over the years, which instrument
version each engagement pins, and erasing a participant's name."""
