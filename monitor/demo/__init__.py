"""Demo sites (forum, marketplace, Telegram channel) served on 127.0.0.1, and their content."""
