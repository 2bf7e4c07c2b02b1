"""The review web app (`heishi serve`): the alert queue, alert pages, sources and keywords."""
